//! JSON log lines with the OpenTelemetry `trace_id` and `span_id` of the span they were
//! logged in, so that a log line leads to its trace and back.
//!
//! tracing-subscriber's JSON format is kept as it is; the two ids are appended as top-level
//! keys. They come from the active OpenTelemetry context, which the OpenTelemetry layer sets
//! whenever a span is entered (its context activation).

use opentelemetry::trace::TraceContextExt as _;
use std::fmt;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{Format, Json, JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent};
use tracing_subscriber::registry::LookupSpan;

/// tracing-subscriber's JSON event format plus `trace_id` and `span_id`.
#[derive(Debug)]
pub(crate) struct WithTraceIds {
    inner: Format<Json>,
}

impl Default for WithTraceIds {
    fn default() -> Self {
        Self {
            inner: tracing_subscriber::fmt::format().json(),
        }
    }
}

impl<S> FormatEvent<S, JsonFields> for WithTraceIds
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        let cx = opentelemetry::Context::current();
        let span = cx.span();
        let sc = span.span_context();
        // The inner format writes one object and a newline; the ids go before its `}`.
        match line.rfind('}') {
            Some(end) if sc.is_valid() => {
                writer.write_str(&line[..end])?;
                write!(
                    writer,
                    ",\"trace_id\":\"{}\",\"span_id\":\"{}\"",
                    sc.trace_id(),
                    sc.span_id()
                )?;
                writer.write_str(&line[end..])
            }
            _ => writer.write_str(&line),
        }
    }
}
