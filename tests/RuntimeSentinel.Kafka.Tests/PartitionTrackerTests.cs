using Confluent.Kafka;

namespace RuntimeSentinel.Kafka.Tests;

public class PartitionTrackerTests
{
    private static PartitionTracker Tracker(params long[] offsets)
    {
        var t = new PartitionTracker(new TopicPartition("t", 0));
        foreach (var o in offsets)
        {
            t.Track(o);
        }

        return t;
    }

    [Fact]
    public void TryTakeCommittable_NothingCompleted_ReturnsFalse()
    {
        Assert.False(Tracker(1, 2, 3).TryTakeCommittable(out _));
    }

    [Fact]
    public void Complete_OutOfOrder_CommitsOnlyTheContiguousPrefix()
    {
        var t = Tracker(10, 11, 12, 13);
        t.Complete(12);
        Assert.False(t.TryTakeCommittable(out _));
        t.Complete(10);
        Assert.True(t.TryTakeCommittable(out var p));
        Assert.Equal(11, p.Offset.Value); // 11 is still in flight: commit "next to read" = 11
        t.Complete(11);
        Assert.True(t.TryTakeCommittable(out p));
        Assert.Equal(13, p.Offset.Value);
        Assert.Equal(1, t.InFlight);
        Assert.False(t.TryTakeCommittable(out _));
    }

    [Fact]
    public void Complete_GapsInOffsets_AreHandled()
    {
        // Compacted topics and transaction markers leave gaps; only tracked offsets matter.
        var t = Tracker(5, 9, 20);
        t.Complete(9);
        t.Complete(20);
        t.Complete(5);
        Assert.True(t.TryTakeCommittable(out var p));
        Assert.Equal(21, p.Offset.Value);
        Assert.Equal(0, t.InFlight);
    }

    [Fact]
    public async Task Complete_ConcurrentFromManyThreads_EndsAtLastPlusOne()
    {
        var t = Tracker(Enumerable.Range(0, 10_000).Select(i => (long)i).ToArray());
        await Task.WhenAll(Enumerable.Range(0, 4).Select(k => Task.Run(() =>
        {
            for (var i = k; i < 10_000; i += 4)
            {
                t.Complete(i);
            }
        })));
        Assert.True(t.TryTakeCommittable(out var p));
        Assert.Equal(10_000, p.Offset.Value);
    }

    [Fact]
    public void TryTakeCommittable_WithCheckpoints_NeverPassesWhatTheLastCheckpointCovers()
    {
        var t = new PartitionTracker(new TopicPartition("t", 0), checkpointed: true);
        foreach (var o in new long[] { 10, 11, 12, 13 })
        {
            t.Track(o);
        }

        t.Complete(10);
        t.Complete(11);
        Assert.False(t.TryTakeCommittable(out _)); // processed, but no checkpoint has seen it yet
        Assert.Equal(12, t.Completed);

        t.AllowUpTo(12); // a checkpoint round that began after offset 11 was processed
        t.Complete(12);
        t.Complete(13);
        Assert.True(t.TryTakeCommittable(out var p));
        Assert.Equal(12, p.Offset.Value);
        Assert.False(t.TryTakeCommittable(out _));

        t.AllowUpTo(long.MaxValue); // stop or revoke, after a checkpoint of everything
        Assert.True(t.TryTakeCommittable(out p));
        Assert.Equal(14, p.Offset.Value);
    }
}
