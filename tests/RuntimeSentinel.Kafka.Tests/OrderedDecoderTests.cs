using System.Text;
using Confluent.Kafka;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Kafka.Tests;

/// <summary>
/// Decoding beside the consume thread: whatever order the decoder threads finish in, messages come back in the order
/// they were consumed, each with its own bytes decoded, and a decoder that throws costs one dead letter, not the stream.
/// </summary>
public class OrderedDecoderTests
{
    /// <summary>Decodes the message text "n" into an ignored note "n", at a varying pace so threads finish out of order.</summary>
    private sealed class SlowEcho : IDeserializer<DecodedMessage>
    {
        public DecodedMessage Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context)
        {
            var text = Encoding.UTF8.GetString(data);
            if (text == "boom")
            {
                throw new InvalidOperationException("decoder bug");
            }

            var n = int.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
            Thread.SpinWait((n * 7919) % 5000);
            return DecodedMessage.Ignored(context.Topic + ":" + text, data.Length);
        }
    }

    private static ConsumeResult<Ignore, Ignore> Consume(OrderedDecoder decoder, string topic, long offset, string value)
    {
        decoder.Deserialize(Encoding.UTF8.GetBytes(value), false, new SerializationContext(MessageComponentType.Value, topic));
        var result = new ConsumeResult<Ignore, Ignore> { TopicPartitionOffset = new TopicPartitionOffset(topic, 0, offset), Message = new Message<Ignore, Ignore>() };
        decoder.Add(result, new PartitionTracker(new TopicPartition(topic, 0)));
        return result;
    }

    [Fact]
    public void TryTake_ManyBatchesOnFourThreads_ComeBackInConsumeOrderEachWithItsOwnBytes()
    {
        using var decoder = new OrderedDecoder(4, () => new SlowEcho(), 1024);
        var taken = new List<(long Offset, string? Note)>();
        const int Messages = 5_000;
        for (var i = 0; i < Messages; i++)
        {
            Consume(decoder, i % 2 == 0 ? "a" : "b", i, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            while (decoder.Saturated)
            {
                Take(decoder, taken);
            }
        }

        decoder.Submit();
        while (decoder.Pending > 0)
        {
            Take(decoder, taken);
        }

        Assert.Equal(Enumerable.Range(0, Messages).Select(i => (long)i), taken.Select(t => t.Offset));
        Assert.All(taken, t => Assert.Equal($"{(t.Offset % 2 == 0 ? "a" : "b")}:{t.Offset}", t.Note));
    }

    [Fact]
    public void TryTake_DecoderThrows_ThatMessageIsADecoderFaultWithItsBytesAndTheOthersDecode()
    {
        using var decoder = new OrderedDecoder(2, () => new SlowEcho(), 1024);
        Consume(decoder, "t", 0, "1");
        Consume(decoder, "t", 1, "boom");
        Consume(decoder, "t", 2, "3");
        decoder.Submit();

        Assert.True(decoder.TryTake(TimeSpan.FromSeconds(10), out var batch));
        Assert.Equal(3, batch.Count);
        Assert.Equal(DecodeStatus.Ignored, batch.Decoded(0).Status);
        Assert.Equal(DecodeStatus.Rejected, batch.Decoded(1).Status);
        Assert.Equal(DecodeErrorCode.DecoderFault, batch.Decoded(1).Error.Code);
        Assert.Contains("decoder bug", batch.Decoded(1).Error.Detail, StringComparison.Ordinal);
        Assert.Equal("boom"u8.ToArray(), batch.Decoded(1).Raw!.Value.Bytes);
        Assert.Equal("t:3", batch.Decoded(2).Note);
        Assert.Equal(0, decoder.Pending);
    }

    [Fact]
    public void Add_MessagesPastTheBatchBytes_HandedOutBeforeTheBatchIsFull()
    {
        using var decoder = new OrderedDecoder(1, () => new SlowEcho(), 1024);
        var big = new string('7', OrderedDecoder.MaxBatchBytes / 2);
        Consume(decoder, "t", 0, big);
        Consume(decoder, "t", 1, big);

        // Two messages of half the batch bytes each: handed out without a Submit.
        Assert.True(decoder.TryTake(TimeSpan.FromSeconds(10), out var batch));
        Assert.Equal(2, batch.Count);
        Assert.Equal(DecodeStatus.Rejected, batch.Decoded(0).Status); // too long for int: the decoder's exception is caught
        decoder.Return(batch);
        Assert.Equal(0, decoder.Pending);
    }

    private static void Take(OrderedDecoder decoder, List<(long Offset, string? Note)> taken)
    {
        if (!decoder.TryTake(TimeSpan.FromSeconds(10), out var batch))
        {
            return;
        }

        for (var i = 0; i < batch.Count; i++)
        {
            taken.Add((batch.Result(i).Offset.Value, batch.Decoded(i).Note));
        }

        decoder.Return(batch);
    }
}
