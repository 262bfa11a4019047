//! The `store` role: serves the DirectoryService and the gRPC health service on an address
//! until the shutdown future resolves.

use crate::directory::Directory;
use crate::grpc::DirectoryGrpc;
use scim_wire::pb::directory_service_server::DirectoryServiceServer;
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

/// A bound, not yet running store server.
#[derive(Debug)]
pub struct StoreServer {
    listener: TcpListener,
    dir: Directory,
}

impl StoreServer {
    /// Binds the listener (use port 0 for a random one).
    pub async fn bind(addr: SocketAddr, dir: Directory) -> std::io::Result<Self> {
        Ok(Self {
            listener: TcpListener::bind(addr).await?,
            dir,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then drains in-flight calls.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), tonic::transport::Error> {
        let (reporter, health) = tonic_health::server::health_reporter();
        reporter
            .set_serving::<DirectoryServiceServer<DirectoryGrpc>>()
            .await;
        tonic::transport::Server::builder()
            .add_service(health)
            .add_service(DirectoryGrpc::new(self.dir).into_server())
            .serve_with_incoming_shutdown(TcpListenerStream::new(self.listener), shutdown)
            .await
    }
}
