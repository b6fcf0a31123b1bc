using Confluent.Kafka;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Kafka;

/// <summary>
/// The result of decoding one message: the event, or the reason it was rejected together with a copy of the
/// original bytes for the dead-letter topic. The bytes are copied only on failure.
/// </summary>
public readonly struct DecodedMessage
{
    public DecodedMessage(in RuntimeEvent evt, int size)
    {
        Event = evt;
        Size = size;
        Error = default;
        Raw = null;
        Ok = true;
    }

    public DecodedMessage(DecodeError error, byte[] raw)
    {
        Event = default;
        Error = error;
        Raw = raw;
        Size = raw.Length;
        Ok = false;
    }

    public bool Ok { get; }

    public RuntimeEvent Event { get; }

    public DecodeError Error { get; }

    public byte[]? Raw { get; }

    public int Size { get; }
}

/// <summary>
/// Decodes message values straight from librdkafka's buffer (no intermediate byte[] per message). One instance
/// per consumer: the decoder's intern caches are not thread-safe, and the consumer calls this from its own thread.
/// </summary>
public sealed class EventDeserializer(EventDecoderOptions? options = null) : IDeserializer<DecodedMessage>
{
    private readonly EventDecoder _decoder = new(options);

    public EventDecoder Decoder => _decoder;

    public DecodedMessage Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context)
    {
        if (isNull)
        {
            return new DecodedMessage(new DecodeError(DecodeErrorCode.Empty, "", "message value is null (tombstone)"), []);
        }

        return _decoder.TryDecode(data, out var evt, out var error)
            ? new DecodedMessage(evt, data.Length)
            : new DecodedMessage(error, data.ToArray());
    }
}
