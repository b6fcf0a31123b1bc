using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

public class IngestWriterTests
{
    /// <summary>Offsets in the order detection finished them, per workload (each workload its own completion).</summary>
    private sealed class Finished : IOffsetCompletion
    {
        private readonly List<long> _offsets = [];

        public List<long> Offsets
        {
            get
            {
                lock (_offsets)
                {
                    return [.. _offsets];
                }
            }
        }

        public void Complete(long offset)
        {
            lock (_offsets)
            {
                _offsets.Add(offset);
            }
        }
    }

    /// <summary>Holds the shard thread in its first completion until the gate opens.</summary>
    private sealed class Stall(TaskCompletionSource blocked, ManualResetEventSlim gate) : IOffsetCompletion
    {
        public void Complete(long offset)
        {
            blocked.TrySetResult();
            gate.Wait(KafkaTestKit.Patience);
        }
    }

    /// <summary>Says when its one event is done.</summary>
    private sealed class Signal(TaskCompletionSource done) : IOffsetCompletion
    {
        public void Complete(long offset) => done.TrySetResult();
    }

    private static DetectionPipeline Create(int shards, int queueCapacity = 4096)
    {
        var metrics = new DetectionMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var options = Options.Create(new DetectionOptions { Shards = shards, LearningDuration = TimeSpan.FromMinutes(1), MinLearningEvents = 5, ShardQueueCapacity = queueCapacity });
        var pipeline = new DetectionPipeline(options, new RecordingAlerts(), metrics, new FakeTimeProvider(Some.Time), NullLogger<DetectionPipeline>.Instance);
        pipeline.Start();
        return pipeline;
    }

    private static IngestItem Item(WorkloadResolver resolver, int workload, IOffsetCompletion completion, long offset)
    {
        var e = Some.Syscall("read", Some.Workload(owner: "svc" + workload, pod: $"svc{workload}-7d9f8b6c5b-x2k4p"));
        return new IngestItem(e, resolver.Resolve(e.Workload), completion, offset, Stopwatch.GetTimestamp());
    }

    [Fact]
    public async Task WriteAsync_FewerThanABatch_HandedOverOnlyByFlush()
    {
        await using var pipeline = Create(shards: 2);
        var writer = pipeline.CreateWriter();
        var finished = new Finished();
        var resolver = new WorkloadResolver("t");
        for (var i = 0; i < 3; i++)
        {
            Assert.True(await writer.WriteAsync(Item(resolver, 0, finished, i), default));
        }

        Assert.Equal(3, writer.Pending);
        Assert.NotEqual(0, writer.PendingSince);

        // A barrier instead of a pause: one more event of the same workload, straight to its shard, which processes in
        // order. Once it is done, anything the writer had handed over would be done too.
        var barrier = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Assert.True(await pipeline.EnqueueAsync(Item(resolver, 0, new Signal(barrier), 99), default));
        await barrier.Task.WaitAsync(KafkaTestKit.Patience);
        Assert.Empty(finished.Offsets); // still with the writer: nothing processed, nothing committable

        Assert.True(await writer.FlushAsync(default));
        Assert.Equal(0, writer.Pending);
        Assert.Equal(0, writer.PendingSince);
        await pipeline.CompleteAsync();
        Assert.Equal([0, 1, 2], finished.Offsets);
    }

    [Fact]
    public async Task WriteAsync_ManyWorkloadsInterleaved_EachWorkloadProcessedInOrderAndNothingLost()
    {
        // A small queue (one batch per shard), so the writer also waits on full shards on the way.
        await using var pipeline = Create(shards: 3, queueCapacity: 8);
        var writer = pipeline.CreateWriter();
        var resolver = new WorkloadResolver("t");
        var perWorkload = Enumerable.Range(0, 7).Select(_ => new Finished()).ToArray();
        const int Events = 2_000;
        for (var i = 0; i < Events; i++)
        {
            var w = (i * 31) % perWorkload.Length;
            Assert.True(await writer.WriteAsync(Item(resolver, w, perWorkload[w], i), default));
        }

        Assert.True(await writer.FlushAsync(default));
        await pipeline.CompleteAsync();
        Assert.Equal(Events, perWorkload.Sum(f => f.Offsets.Count));
        foreach (var f in perWorkload)
        {
            Assert.Equal(f.Offsets.Order(), f.Offsets);
        }

        var snapshot = await pipeline.SnapshotAsync();
        Assert.Equal(Events, snapshot.Sum(s => s.EventsLearned + s.EventsScored));
    }

    [Fact]
    public async Task WriteAsync_AfterCompletion_ReportsNotAccepted()
    {
        await using var pipeline = Create(shards: 1);
        var writer = pipeline.CreateWriter();
        var resolver = new WorkloadResolver("t");
        await pipeline.CompleteAsync();
        Assert.True(await writer.WriteAsync(Item(resolver, 0, new Finished(), 0), default)); // pending, not yet handed over
        Assert.False(await writer.FlushAsync(default));
        Assert.Equal(0, writer.Pending);
    }

    [Fact]
    public async Task WriteAsync_FromADedicatedThreadOnFullShards_BlocksUntilRoomAndLosesNothing()
    {
        // The consume loop runs on its own thread: a full shard makes it wait for room (not a thread-pool hop per batch).
        await using var pipeline = Create(shards: 2, queueCapacity: 64);
        var writer = pipeline.CreateWriter();
        var resolver = new WorkloadResolver("t");
        var perWorkload = Enumerable.Range(0, 5).Select(_ => new Finished()).ToArray();
        const int Events = 5_000;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                for (var i = 0; i < Events; i++)
                {
                    var w = (i * 7) % perWorkload.Length;
                    var write = writer.WriteAsync(Item(resolver, w, perWorkload[w], i), default);
                    Assert.True(write.IsCompleted, "a dedicated sender waits synchronously");
                    Assert.True(write.Result);
                }

                Assert.True(writer.FlushAsync(default).AsTask().GetAwaiter().GetResult());
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        });
        thread.Start();
        Assert.True(thread.Join(KafkaTestKit.Patience), "the sender never got room");
        Assert.Null(failure);
        await pipeline.CompleteAsync();
        Assert.Equal(Events, perWorkload.Sum(f => f.Offsets.Count));
        Assert.All(perWorkload, f => Assert.Equal(f.Offsets.Order(), f.Offsets));
    }

    [Fact]
    public async Task WriteAsync_DedicatedSenderWaitingWhenPipelineCompletes_IsReleasedWithNotAccepted()
    {
        await using var pipeline = Create(shards: 1, queueCapacity: 64);
        var writer = pipeline.CreateWriter();
        var resolver = new WorkloadResolver("t");
        using var gate = new ManualResetEventSlim();
        var blocked = new TaskCompletionSource();

        // The shard finishes its first event only when the test lets it: its one-batch queue stays full meanwhile.
        var stall = new Stall(blocked, gate);
        Assert.True(await writer.WriteAsync(Item(resolver, 0, stall, 0), default));
        Assert.True(await writer.FlushAsync(default));
        await blocked.Task.WaitAsync(KafkaTestKit.Patience);
        bool? last = null;
        var written = 0;
        var thread = new Thread(() =>
        {
            for (var i = 0; i < 4 * 64; i++)
            {
                if (!writer.WriteAsync(Item(resolver, 0, new Finished(), i), default).AsTask().GetAwaiter().GetResult())
                {
                    last = false;
                    return;
                }

                Volatile.Write(ref written, i + 1);
            }

            last = writer.FlushAsync(default).AsTask().GetAwaiter().GetResult();
        });
        thread.Start();

        // The queue holds one batch: the first 64 writes fill it, and the 128th (a second full batch) must wait for room.
        // Seen, rather than assumed after a pause: the sender stays on that write, asleep, and does not get past it.
        var seen = await KafkaTestKit.EventuallyAsync(
            () => (Written: Volatile.Read(ref written), thread.ThreadState),
            s => s.Written > 127 || (s.ThreadState & System.Threading.ThreadState.Stopped) != 0 || (s.Written == 127 && (s.ThreadState & System.Threading.ThreadState.WaitSleepJoin) != 0),
            KafkaTestKit.Patience,
            "the sender waiting for room on its 128th write");
        Assert.True(seen.Written == 127 && thread.IsAlive, $"the sender should wait for room on its 128th write, but {seen}");
        var completing = pipeline.CompleteAsync();
        Assert.True(thread.Join(KafkaTestKit.Patience), "completion must release a waiting sender");
        gate.Set();
        await completing;
        Assert.False(last);
    }
}
