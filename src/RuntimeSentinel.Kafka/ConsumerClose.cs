using Confluent.Kafka;

namespace RuntimeSentinel.Kafka;

/// <summary>
/// Leaves the group within a deadline. librdkafka's <c>Close</c> can wait without end when the group is in the middle
/// of a cooperative rebalance (another member leaving or joining at the same moment, as in a DaemonSet rollout); a
/// stop that hangs there would eat the whole shutdown budget and the alerts still queued behind it.
/// </summary>
internal static class ConsumerClose
{
    /// <summary>
    /// Closes <paramref name="consumer"/> and disposes it when that finishes in time; returns false when it did not.
    /// A consumer that did not close is left undisposed: <c>Dispose</c> would wait on the same group state, and the
    /// process is stopping. Offsets were committed before this call, so the group loses nothing but the clean leave
    /// (the coordinator expires the member after its session timeout).
    /// </summary>
    public static bool CloseWithin<TKey, TValue>(IConsumer<TKey, TValue> consumer, TimeSpan timeout)
    {
        var close = Task.Factory.StartNew(consumer.Close, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        if (!close.Wait(timeout))
        {
            // Observe a late failure so it does not surface as an unobserved task exception.
            _ = close.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
            return false;
        }

        consumer.Dispose();
        return true;
    }
}
