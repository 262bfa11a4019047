//! RabbitMQ only: with a signing key, a worker gets only the commands a gateway of the same
//! deployment signed, and a gateway takes only replies signed for its request — whoever else
//! reaches the broker can neither write a tenant's data nor answer a client.

use crate::{amqp_url, command, delete_test_topology, result_for, test_topology};
use lapin::options::BasicPublishOptions;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use prost::Message as _;
use scim_bus::amqp::{AmqpBus, AmqpConfig};
use scim_bus::{BusError, CommandClient, CommandConsumer, Headers, SigningKey, Topology};
use std::time::Duration;

const SECRET: &str = "the deployment's role secret, 32+";
const OTHER: &str = "another deployment's role secret!";

async fn bus(topology: &Topology, secret: Option<&str>) -> AmqpBus {
    AmqpBus::connect(AmqpConfig {
        url: amqp_url(),
        topology: topology.clone(),
        prefetch: 4,
        delivery_limit: 10,
        confirm_timeout: Duration::from_secs(5),
        signing_key: secret.map(SigningKey::from_role_secret),
    })
    .await
    .expect("connect to RabbitMQ")
}

async fn next(consumer: &mut dyn CommandConsumer) -> scim_bus::CommandDelivery {
    tokio::time::timeout(Duration::from_secs(5), consumer.next())
        .await
        .expect("a delivery within 5 s")
        .expect("next()")
        .expect("the consumer ended")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_only_commands_and_replies_signed_with_the_deployment_key_are_taken() {
    let topology = test_topology();
    let ours = bus(&topology, Some(SECRET)).await;
    let theirs = bus(&topology, Some(OTHER)).await;
    let unsigned = bus(&topology, None).await;
    let mut worker = ours.consumer().await.unwrap();

    // Signed by our gateway: the worker gets it, and the gateway gets the worker's reply.
    let client = ours.client().await.unwrap();
    let cmd = command(1);
    let request = {
        let cmd = cmd.clone();
        tokio::spawn(async move {
            client
                .request(&cmd, Headers::new(), Duration::from_secs(5))
                .await
        })
    };
    let delivery = next(&mut worker).await;
    assert_eq!(delivery.command.as_ref().unwrap(), &cmd);
    delivery.reply(&result_for(&cmd)).await.unwrap();
    delivery.ack().await.unwrap();
    assert_eq!(request.await.unwrap().unwrap(), result_for(&cmd));

    // Sent with another key, with none, or published raw: the worker is told it is not ours
    // (and dead-letters it), never handed a command to apply.
    for foreign in [&theirs, &unsigned] {
        let client = foreign.client().await.unwrap();
        let cmd = command(2);
        // Nobody answers it; the request times out on its own.
        drop(tokio::spawn(async move {
            client
                .request(&cmd, Headers::new(), Duration::from_secs(2))
                .await
        }));
        let delivery = next(&mut worker).await;
        let refused = delivery.command.as_ref().unwrap_err();
        assert!(refused.contains("signature"), "{refused}");
        delivery.dead_letter().await.unwrap();
    }
    let raw = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .unwrap();
    let channel = raw.create_channel().await.unwrap();
    channel
        .basic_publish(
            "".into(),
            topology.commands().as_str().into(),
            BasicPublishOptions::default(),
            &command(3).encode_to_vec(),
            BasicProperties::default().with_content_type("application/x-protobuf".into()),
        )
        .await
        .unwrap();
    let delivery = next(&mut worker).await;
    assert!(delivery.command.is_err());
    delivery.dead_letter().await.unwrap();

    // A reply from a consumer with another key never answers our request: it times out.
    let mut impostor = theirs.consumer().await.unwrap();
    drop(worker);
    let client = ours.client().await.unwrap();
    let cmd = command(4);
    let request = {
        let cmd = cmd.clone();
        tokio::spawn(async move {
            client
                .request(&cmd, Headers::new(), Duration::from_secs(2))
                .await
        })
    };
    let delivery = next(&mut impostor).await;
    // The impostor cannot read it as ours either, but answers anyway.
    assert!(delivery.command.is_err());
    delivery.reply(&result_for(&cmd)).await.unwrap();
    delivery.ack().await.unwrap();
    assert!(
        matches!(request.await.unwrap(), Err(BusError::Timeout(_))),
        "a forged reply answered the request"
    );

    for b in [&ours, &theirs, &unsigned] {
        b.close().await;
    }
    delete_test_topology(&raw, &topology).await;
}
