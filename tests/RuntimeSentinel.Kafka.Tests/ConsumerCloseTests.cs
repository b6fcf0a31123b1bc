using System.Reflection;
using Confluent.Kafka;

namespace RuntimeSentinel.Kafka.Tests;

public sealed class ConsumerCloseTests
{
    [Fact]
    public void CloseWithin_CloseReturns_ClosesAndDisposes()
    {
        var consumer = FakeConsumer.Create(out var fake);
        fake.Release.Set();

        Assert.True(ConsumerClose.CloseWithin(consumer, TimeSpan.FromSeconds(10)));
        Assert.Equal(1, fake.Closes);
        Assert.Equal(1, fake.Disposes);
    }

    [Fact]
    public void CloseWithin_CloseHangsInRebalance_GivesUpAtTheDeadlineWithoutDisposing()
    {
        var consumer = FakeConsumer.Create(out var fake);

        var returned = ConsumerClose.CloseWithin(consumer, TimeSpan.FromMilliseconds(200));

        Assert.False(returned);
        Assert.True(fake.Entered.Wait(TimeSpan.FromSeconds(10)), "Close was called");
        Assert.Equal(0, fake.Disposes); // Dispose would block on the same group state
        fake.Release.Set();
    }

    [Fact]
    public void CloseWithin_CloseThrows_SurfacesTheError()
    {
        var consumer = FakeConsumer.Create(out var fake);
        fake.Throw = true;
        fake.Release.Set();

        var ex = Assert.Throws<AggregateException>(() => ConsumerClose.CloseWithin(consumer, TimeSpan.FromSeconds(10)));
        Assert.IsType<KafkaException>(ex.InnerException);
        Assert.Equal(0, fake.Disposes);
    }

    /// <summary>An <see cref="IConsumer{TKey,TValue}"/> whose Close blocks until released, as librdkafka's does mid-rebalance.</summary>
    public class FakeConsumer : DispatchProxy
    {
        public ManualResetEventSlim Release { get; } = new();

        public ManualResetEventSlim Entered { get; } = new();

        public bool Throw { get; set; }

        public int Closes;

        public int Disposes;

        public static IConsumer<Ignore, byte[]> Create(out FakeConsumer fake)
        {
            var proxy = Create<IConsumer<Ignore, byte[]>, FakeConsumer>();
            fake = (FakeConsumer)(object)proxy;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            switch (targetMethod?.Name)
            {
                case nameof(IConsumer<Ignore, byte[]>.Close):
                    Entered.Set();
                    Release.Wait();
                    Interlocked.Increment(ref Closes);
                    if (Throw)
                    {
                        throw new KafkaException(ErrorCode.Local_Fail);
                    }

                    return null;
                case nameof(IDisposable.Dispose):
                    Interlocked.Increment(ref Disposes);
                    return null;
                default:
                    throw new NotSupportedException(targetMethod?.Name);
            }
        }
    }
}
