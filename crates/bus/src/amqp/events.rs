//! Subscribing to the events exchange, for tests and diagnostics.

use super::{Shared, consume, short, unavailable};
use crate::{BusError, EventReceiver};
use futures_util::StreamExt as _;
use lapin::options::{QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use tokio::sync::mpsc;
use tracing::debug;

/// Binds a new exclusive, auto-delete queue to the events exchange with `binding_key` and
/// forwards what arrives until the receiver is dropped or the channel breaks.
pub(super) async fn subscribe(
    shared: &Shared,
    binding_key: &str,
) -> Result<EventReceiver, BusError> {
    let binding_key = short(binding_key, "the binding key")?;
    let channel = shared.channel(false).await?;
    // Server-named and exclusive: it belongs to this connection alone and goes with it.
    let queue = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .map_err(|e| unavailable("declaring an event queue", e))?;
    let queue = queue.name().clone();
    channel
        .queue_bind(
            queue.clone(),
            shared.names.events.clone(),
            binding_key,
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| unavailable(&format!("binding {queue} to {}", shared.names.events), e))?;
    let mut consumer = consume(&channel, &queue, true).await?;
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let delivery = tokio::select! {
                () = sender.closed() => break,
                delivery = consumer.next() => delivery,
            };
            match delivery {
                Some(Ok(delivery)) => {
                    let event = (delivery.routing_key.to_string(), delivery.data);
                    if sender.send(event).is_err() {
                        break;
                    }
                }
                Some(Err(error)) => {
                    debug!(%error, "the event subscription ended");
                    break;
                }
                None => break,
            }
        }
        // Closing the channel cancels the consumer, which deletes the auto-delete queue now
        // rather than when the whole connection goes.
        let _ = channel.close(200, "OK".into()).await;
    });
    Ok(receiver)
}
