using Confluent.Kafka;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Formats;

namespace RuntimeSentinel.Kafka;

/// <summary>
/// The result of decoding one message: the event; or why it was ignored; or the reason it was rejected together
/// with a copy of the original bytes for the dead-letter topic (bytes are copied only on rejection).
/// </summary>
internal readonly struct DecodedMessage
{
    private DecodedMessage(DecodeStatus status, in RuntimeEvent evt, DecodeError error, string? note, DeadLetterPayload? raw, int size)
    {
        Status = status;
        Event = evt;
        Error = error;
        Note = note;
        Raw = raw;
        Size = size;
    }

    public DecodeStatus Status { get; }

    public bool Ok => Status == DecodeStatus.Event;

    public RuntimeEvent Event { get; }

    public DecodeError Error { get; }

    /// <summary>Why an ignored message was ignored (bounded set: metric label).</summary>
    public string? Note { get; }

    /// <summary>For a rejected message: what goes to the dead-letter topic.</summary>
    public DeadLetterPayload? Raw { get; }

    public int Size { get; }

    public static DecodedMessage Decoded(in RuntimeEvent evt, int size) => new(DecodeStatus.Event, evt, default, null, null, size);

    public static DecodedMessage Ignored(string note, int size) => new(DecodeStatus.Ignored, default, default, note, null, size);

    public static DecodedMessage Rejected(DecodeError error, DeadLetterPayload raw) => new(DecodeStatus.Rejected, default, error, null, raw, raw.OriginalSize);
}

/// <summary>
/// Decodes message values straight from librdkafka's buffer (no intermediate byte[] per message), with the format
/// configured for the message's topic. One instance per consumer: decoders keep intern caches and are not
/// thread-safe, and the consumer calls this from its own thread.
/// </summary>
internal sealed class EventDeserializer(Func<string, string> formatOfTopic, int deadLetterMaxBytes = KafkaOptions.DefaultDeadLetterMaxBytes) : IDeserializer<DecodedMessage>
{
    private readonly Dictionary<string, IEventFormat> _formats = new(StringComparer.Ordinal);

    public DecodedMessage Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context)
    {
        if (isNull)
        {
            return DecodedMessage.Rejected(new DecodeError(DecodeErrorCode.Empty, "", "message value is null (tombstone)"), new DeadLetterPayload([], 0, null));
        }

        var topic = context.Topic ?? "";
        if (!_formats.TryGetValue(topic, out var format))
        {
            format = EventFormats.Create(formatOfTopic(topic));
            _formats[topic] = format;
        }

        return format.Decode(data, out var evt, out var error, out var note) switch
        {
            DecodeStatus.Event => DecodedMessage.Decoded(evt, data.Length),
            DecodeStatus.Ignored => DecodedMessage.Ignored(note ?? "ignored", data.Length),
            _ => DecodedMessage.Rejected(error, DeadLetterPayload.From(data, deadLetterMaxBytes)),
        };
    }
}
