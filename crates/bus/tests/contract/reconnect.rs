//! RabbitMQ only: the broker goes away and comes back, and publishes the broker cannot route.
//! The broker is shared with other tests, so instead of restarting it the tests talk to it
//! through a TCP proxy they can cut.

use crate::{amqp_url, command, delete_test_topology, result_for, test_topology};
use lapin::{Connection, ConnectionProperties};
use prost::Message as _;
use scim_bus::amqp::{AmqpBus, AmqpConfig};
use scim_bus::{BusError, CommandClient, CommandConsumer, Headers, JobConsumer, Publisher};
use scim_wire::pb;
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
    /// A proxy on a port the test can bind again after cutting it: below Linux's ephemeral
    /// range (32768–60999), so no outgoing connection takes the port in between.
    async fn start_anywhere(upstream: SocketAddr) -> (Proxy, SocketAddr) {
        for _ in 0..1_000 {
            let port = 20_000 + (uuid::Uuid::new_v4().as_u128() % 12_000) as u16;
            let free = std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
            if free {
                return Self::start(SocketAddr::from(([127, 0, 0, 1], port)), upstream).await;
            }
        }
        panic!("no free loopback port for the proxy");
    }

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
    let (proxy, proxy_addr) = Proxy::start_anywhere(upstream).await;
    let config = proxied_config(with_authority(proxy_addr));
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

    bus.close().await;
    drop(proxy);
    cleanup(&config).await;
}

/// Deletes a test's queues and exchange directly on the broker.
async fn cleanup(config: &AmqpConfig) {
    let raw = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("direct connection");
    delete_test_topology(&raw, &config.topology).await;
    let _ = raw.close(200, "OK".into()).await;
}

/// A test topology reached through `url` (a proxy's or the broker's), with short timeouts.
fn proxied_config(url: String) -> AmqpConfig {
    AmqpConfig {
        url,
        topology: test_topology(),
        prefetch: 4,
        delivery_limit: 10,
        confirm_timeout: Duration::from_secs(2),
        signing_key: None,
    }
}

fn job_body(outbox_id: i64) -> Vec<u8> {
    pb::FanoutJob {
        outbox_id,
        tenant_id: "tenant-1".to_owned(),
        user_ids: vec!["user-1".to_owned()],
    }
    .encode_to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_publisher_survives_losing_the_broker() {
    let (upstream, with_authority) = split_url(&amqp_url());
    let (proxy, proxy_addr) = Proxy::start_anywhere(upstream).await;
    let config = proxied_config(with_authority(proxy_addr));
    let bus = AmqpBus::connect(config.clone()).await.expect("connect");
    let publisher = bus.publisher().await.expect("publisher");
    publisher
        .publish_job(job_body(1), Headers::new())
        .await
        .expect("confirmed while connected");

    // The broker goes away.
    drop(proxy);
    let started = Instant::now();
    let outcome = publisher.publish_job(job_body(2), Headers::new()).await;
    assert!(
        matches!(
            outcome,
            Err(BusError::Unavailable(_) | BusError::NotConfirmed(_))
        ),
        "a publish without broker: {outcome:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "failed fast");
    let outcome = publisher
        .publish_event("membership.changed.t1", b"e".to_vec(), Headers::new())
        .await;
    assert!(outcome.is_err(), "an event without broker: {outcome:?}");
    assert!(publisher.ready().await.is_err(), "ready() without broker");

    // It comes back on the same address; the next publishes reconnect by themselves.
    let (proxy, _) = Proxy::start(proxy_addr, upstream).await;
    let until = Instant::now() + Duration::from_secs(15);
    loop {
        match publisher.publish_job(job_body(3), Headers::new()).await {
            Ok(()) => break,
            Err(error) if Instant::now() < until => {
                tracing::debug!(%error, "not yet");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => panic!("no recovery after the broker came back: {error}"),
        }
    }
    publisher.ready().await.expect("ready again");
    publisher
        .publish_event("membership.changed.t1", b"e".to_vec(), Headers::new())
        .await
        .expect("events flow again");

    // Both confirmed jobs are queued (the one that failed may or may not be: at least once).
    let mut consumer = bus.job_consumer().await.expect("job consumer");
    let mut ids = Vec::new();
    while let Ok(next) = tokio::time::timeout(Duration::from_millis(500), consumer.next()).await {
        let delivery = next.expect("next").expect("a delivery");
        ids.push(
            pb::FanoutJob::decode(delivery.body.as_slice())
                .unwrap()
                .outbox_id,
        );
        delivery.ack().await.expect("ack");
    }
    assert!(ids.contains(&1) && ids.contains(&3), "queued jobs: {ids:?}");

    bus.close().await;
    drop(proxy);
    cleanup(&config).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_job_to_a_missing_queue_is_not_confirmed() {
    let config = proxied_config(amqp_url());
    let bus = AmqpBus::connect(config.clone()).await.expect("connect");
    let publisher = bus.publisher().await.expect("publisher");
    bus.delete_topology().await.expect("delete the queues");

    // Mandatory: the broker returns it instead of dropping it.
    let outcome = publisher.publish_job(job_body(1), Headers::new()).await;
    assert!(
        matches!(outcome, Err(BusError::NotConfirmed(_))),
        "a job for a deleted queue: {outcome:?}"
    );
    // delete_topology left the events exchange alone (publishing to a missing exchange
    // would close the channel with NOT_FOUND), and the publisher still works.
    publisher
        .publish_event("membership.changed.t1", b"e".to_vec(), Headers::new())
        .await
        .expect("the events exchange is still there");
    bus.close().await;
    cleanup(&config).await;
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

/// A worker's consumer can publish its replies through another connection (so that the
/// consuming one never publishes and is never blocked by a broker alarm): the requester
/// gets them all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_replies_through_another_connection_reach_the_requester() {
    let config = AmqpConfig {
        url: amqp_url(),
        topology: test_topology(),
        prefetch: 4,
        delivery_limit: 10,
        confirm_timeout: Duration::from_secs(5),
        signing_key: None,
    };
    let consuming = AmqpBus::connect(config.clone()).await.unwrap();
    let publishing = AmqpBus::connect(config.clone()).await.unwrap();
    let mut consumer = consuming.consumer_replying_via(&publishing).await.unwrap();
    let client = consuming.client().await.unwrap();
    for n in 0..3 {
        let cmd = command(n);
        let request = {
            let (client, cmd) = (client.clone(), cmd.clone());
            tokio::spawn(async move {
                client
                    .request(&cmd, Headers::new(), Duration::from_secs(5))
                    .await
            })
        };
        let delivery = tokio::time::timeout(Duration::from_secs(5), consumer.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        delivery.reply(&result_for(&cmd)).await.unwrap();
        delivery.ack().await.unwrap();
        assert_eq!(request.await.unwrap().unwrap(), result_for(&cmd));
    }
    consuming.close().await;
    publishing.close().await;
    cleanup(&config).await;
}

/// A worker holding deliveries when its connection dies can still finish them: replying and
/// settling fail within seconds instead of waiting for ever (a worker whose every slot waited
/// on a dead connection stopped consuming for good after a broker restart).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_settling_and_replying_on_a_dead_connection_fail_promptly() {
    let (upstream, with_authority) = split_url(&amqp_url());
    let (proxy, proxy_addr) = Proxy::start_anywhere(upstream).await;
    let config = proxied_config(with_authority(proxy_addr));
    let consuming = AmqpBus::connect(config.clone()).await.expect("connect");
    let publishing = AmqpBus::connect(config.clone()).await.expect("connect");
    let direct = AmqpBus::connect(AmqpConfig {
        url: amqp_url(),
        ..config.clone()
    })
    .await
    .expect("connect");
    let client = direct.client().await.unwrap();
    let mut consumer = consuming.consumer_replying_via(&publishing).await.unwrap();
    let mut held = Vec::new();
    for n in 0..3 {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .request(&command(n), Headers::new(), Duration::from_secs(3))
                .await
        });
        held.push(
            tokio::time::timeout(Duration::from_secs(5), consumer.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap(),
        );
    }
    drop(proxy);
    for delivery in held {
        let cmd = delivery.command.as_ref().unwrap().clone();
        let finished = tokio::time::timeout(Duration::from_secs(15), async {
            let replied = delivery.reply(&result_for(&cmd)).await;
            let settled = delivery.ack().await;
            (replied, settled)
        })
        .await
        .expect("reply and ack on a dead connection finish");
        assert!(
            finished.1.is_err(),
            "acked on a dead connection: {finished:?}"
        );
    }
    consuming.close().await;
    publishing.close().await;
    direct.close().await;
    cleanup(&config).await;
}

/// Replies through another connection survive that connection's loss: once the broker is
/// reachable again, the consumer's next replies reach their requesters (a reply channel of
/// the broken connection must not be reused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_replies_resume_after_the_reply_connection_is_lost() {
    let (upstream, with_authority) = split_url(&amqp_url());
    let (proxy, proxy_addr) = Proxy::start_anywhere(upstream).await;
    let config = proxied_config(amqp_url());
    let consuming = AmqpBus::connect(config.clone()).await.expect("connect");
    let publishing = AmqpBus::connect(AmqpConfig {
        url: with_authority(proxy_addr),
        ..config.clone()
    })
    .await
    .expect("connect");
    let client = consuming.client().await.unwrap();
    let worker = {
        let (consuming, publishing) = (consuming.clone(), publishing.clone());
        tokio::spawn(async move {
            let mut consumer = consuming.consumer_replying_via(&publishing).await.unwrap();
            while let Ok(Some(delivery)) = consumer.next().await {
                let cmd = delivery.command.as_ref().unwrap().clone();
                let _ = delivery.reply(&result_for(&cmd)).await;
                let _ = delivery.ack().await;
            }
        })
    };
    let first = command(1);
    let reply = client
        .request(&first, Headers::new(), Duration::from_secs(5))
        .await
        .expect("a reply");
    assert_eq!(reply, result_for(&first));

    drop(proxy);
    let lost = client
        .request(&command(2), Headers::new(), Duration::from_secs(2))
        .await;
    assert!(lost.is_err(), "a reply through a cut connection: {lost:?}");
    let (_proxy, _) = Proxy::start(proxy_addr, upstream).await;
    let until = Instant::now() + Duration::from_secs(15);
    loop {
        let next = command(3);
        match client
            .request(&next, Headers::new(), Duration::from_secs(2))
            .await
        {
            Ok(reply) => {
                assert_eq!(reply, result_for(&next));
                break;
            }
            Err(e) => assert!(Instant::now() < until, "replies never resumed: {e}"),
        }
    }
    worker.abort();
    consuming.close().await;
    publishing.close().await;
    cleanup(&config).await;
}
