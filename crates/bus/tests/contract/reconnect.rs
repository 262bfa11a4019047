//! RabbitMQ only: the broker goes away and comes back. The broker is shared with other tests,
//! so instead of restarting it the test talks to it through a TCP proxy it can cut.

use crate::{amqp_url, command, result_for, test_topology};
use scim_bus::amqp::{AmqpBus, AmqpConfig};
use scim_bus::{BusError, CommandClient, CommandConsumer, Headers};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// Forwards a local port to the broker until dropped; dropping it cuts every connection.
#[derive(Debug)]
struct Proxy {
    _tasks: JoinSet<()>,
}

impl Proxy {
    async fn start(listen: SocketAddr, upstream: SocketAddr) -> (Proxy, SocketAddr) {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(listen).unwrap();
        let listener = socket.listen(64).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            // Connections live in this set, so aborting the accept loop drops them all.
            let mut connections = JoinSet::new();
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                connections.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        (Proxy { _tasks: tasks }, addr)
    }
}

/// `host:port` of an `amqp://[user:pass@]host:port/vhost` URL, and the URL with another
/// authority.
fn split_url(url: &str) -> (SocketAddr, impl Fn(SocketAddr) -> String + use<>) {
    let scheme_end = url.find("://").expect("a URL") + 3;
    let rest = &url[scheme_end..];
    let host_start = rest.rfind('@').map_or(0, |i| i + 1);
    let host_end = rest[host_start..]
        .find('/')
        .map_or(rest.len(), |i| host_start + i);
    let authority: SocketAddr = rest[host_start..host_end]
        .parse()
        .expect("BLOGIN_SCIM_TEST_AMQP_URL with an IP:port authority");
    let prefix = url[..scheme_end + host_start].to_owned();
    let suffix = rest[host_end..].to_owned();
    (authority, move |addr| format!("{prefix}{addr}{suffix}"))
}

/// Runs a worker that survives connection loss: makes a consumer, serves it until it fails,
/// reports the failure and makes a new one.
fn spawn_worker(bus: AmqpBus, failures: mpsc::UnboundedSender<BusError>) {
    tokio::spawn(async move {
        loop {
            let mut consumer = match bus.consumer().await {
                Ok(consumer) => consumer,
                Err(BusError::Closed) => return,
                Err(_) => continue,
            };
            loop {
                match consumer.next().await {
                    Ok(Some(delivery)) => {
                        let cmd = delivery.command.as_ref().unwrap().clone();
                        let _ = delivery.reply(&result_for(&cmd)).await;
                        let _ = delivery.ack().await;
                    }
                    Ok(None) => return,
                    Err(error) => {
                        let _ = failures.send(error);
                        break;
                    }
                }
            }
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_survives_losing_the_broker() {
    let (upstream, with_authority) = split_url(&amqp_url());
    let (proxy, proxy_addr) = Proxy::start("127.0.0.1:0".parse().unwrap(), upstream).await;
    let config = AmqpConfig {
        url: with_authority(proxy_addr),
        topology: test_topology(),
        prefetch: 4,
        delivery_limit: 10,
        confirm_timeout: Duration::from_secs(2),
    };
    let bus = AmqpBus::connect(config.clone()).await.expect("connect");
    let client = bus.client().await.expect("client");
    let (failures_tx, mut failures) = mpsc::unbounded_channel();
    spawn_worker(bus.clone(), failures_tx);

    let first = command(1);
    let reply = client
        .request(&first, Headers::new(), Duration::from_secs(10))
        .await
        .expect("a reply while connected");
    assert_eq!(reply, result_for(&first));

    // The broker goes away.
    drop(proxy);
    let started = Instant::now();
    let outcome = client
        .request(&command(2), Headers::new(), Duration::from_secs(10))
        .await;
    assert!(
        matches!(
            outcome,
            Err(BusError::Unavailable(_) | BusError::NotConfirmed(_))
        ),
        "a request without broker: {outcome:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "failed fast");
    let failure = tokio::time::timeout(Duration::from_secs(5), failures.recv())
        .await
        .expect("the consumer noticed")
        .unwrap();
    assert!(matches!(failure, BusError::Unavailable(_)), "{failure:?}");
    assert!(client.ready().await.is_err(), "ready() without broker");

    // It comes back on the same address; the next requests reconnect by themselves.
    let (proxy, _) = Proxy::start(proxy_addr, upstream).await;
    let third = command(3);
    let until = Instant::now() + Duration::from_secs(15);
    let reply = loop {
        match client
            .request(&third, Headers::new(), Duration::from_secs(5))
            .await
        {
            Ok(reply) => break reply,
            Err(error) if Instant::now() < until => {
                tracing::debug!(%error, "not yet");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => panic!("no recovery after the broker came back: {error}"),
        }
    };
    assert_eq!(reply, result_for(&third));
    client.ready().await.expect("ready again");

    // Clean up directly on the broker.
    let direct = AmqpBus::connect(AmqpConfig {
        url: amqp_url(),
        ..config
    })
    .await
    .expect("direct connection");
    direct.delete_topology().await.expect("delete queues");
    direct.close().await;
    bus.close().await;
    drop(proxy);
}

#[test]
fn split_url_finds_the_authority() {
    let (addr, rebuild) = split_url("amqp://guest:guest@127.0.0.1:55672/%2f");
    assert_eq!(addr, "127.0.0.1:55672".parse().unwrap());
    assert_eq!(
        rebuild("127.0.0.1:1".parse().unwrap()),
        "amqp://guest:guest@127.0.0.1:1/%2f"
    );
}
