using Microsoft.Extensions.Logging.Abstractions;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Health;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Shards;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests.Shards;

public class ShardThreadTests
{
    // Fails a test that would otherwise hang (a deadlock); never reached when the shard behaves.
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(30);

    /// <summary>Records what the shard thread ran, in order; can be told to throw or to post from the shard thread.</summary>
    private sealed class Work : IShardWork
    {
        public List<object> Ran { get; } = [];

        public Func<ShardCommand, bool>? Throws { get; init; }

        public Action<ShardCommand>? OnCommand { get; set; }

        public bool ThrowOnEvent { get; init; }

        public TaskCompletionSource DrainedSeen { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Process(in IngestItem item)
        {
            if (ThrowOnEvent)
            {
                throw new InvalidOperationException("poisoned");
            }

            lock (Ran)
            {
                Ran.Add(item.Offset);
            }
        }

        public void Execute(ShardCommand command)
        {
            if (Throws?.Invoke(command) == true)
            {
                throw new InvalidOperationException("bad command");
            }

            lock (Ran)
            {
                Ran.Add(command);
            }

            if (command is ShardCommand.Checkpoint c)
            {
                c.Reply.TrySetResult();
            }

            OnCommand?.Invoke(command);
        }

        public void Drained()
        {
            lock (Ran)
            {
                Ran.Add("drained");
            }

            DrainedSeen.TrySetResult();
        }
    }

    private static ShardThread Thread(Work work, int commandCapacity, int eventCapacity = 4 * IngestBatch.Size) =>
        new(0, work, eventCapacity, commandCapacity, new HealthRegistry().Register("detect-shard-0"), NullLogger.Instance);

    private static IngestBatch Batch(ShardThread thread, long offset)
    {
        var batch = thread.Rent();
        batch.Add(new IngestItem(Some.Exec("/bin/true"), new WorkloadKey("t", "shop", "Deployment", "cart", "cart"), null, offset, 0));
        return batch;
    }

    [Fact]
    public async Task PostAsync_MoreCommandsThanCapacity_SendersWaitAndEveryCommandRunsInOrder()
    {
        var work = new Work();
        var thread = Thread(work, commandCapacity: 2);
        var commands = Enumerable.Range(0, 6).Select(_ => new ShardCommand.Checkpoint()).ToList();

        // Not started yet: the queue takes two, the other senders wait (without blocking this thread).
        var posts = commands.Select(c => thread.PostAsync(c).AsTask()).ToList();
        Assert.All(posts.Take(2), p => Assert.True(p.IsCompletedSuccessfully && p.Result));
        Assert.All(posts.Skip(2), p => Assert.False(p.IsCompleted));
        Assert.Equal(2, thread.CommandCount);

        thread.Start();
        Assert.All(await Task.WhenAll(posts).WaitAsync(Hang), Assert.True);
        await Task.WhenAll(commands.Select(c => c.Reply.Task)).WaitAsync(Hang);
        thread.Complete();
        await thread.Completion.WaitAsync(Hang);

        Assert.Equal([.. commands, "drained"], work.Ran);
    }

    [Fact]
    public async Task Complete_SendersWaitingForRoom_ReleasedWithFalseAndAcceptedCommandsStillRun()
    {
        var work = new Work();
        var thread = Thread(work, commandCapacity: 1);
        var accepted = new ShardCommand.Checkpoint();
        var waiting = new ShardCommand.Checkpoint();
        Assert.True(await thread.PostAsync(accepted));
        var post = thread.PostAsync(waiting).AsTask();
        Assert.False(post.IsCompleted);

        thread.Complete();

        Assert.False(await post.WaitAsync(Hang));
        Assert.False(await thread.PostAsync(new ShardCommand.Checkpoint()));
        thread.Start();
        await thread.Completion.WaitAsync(Hang);
        Assert.Equal([accepted, "drained"], work.Ran);
    }

    [Fact]
    public async Task Loop_CommandQueuedBehindBatches_RunsBeforeTheNextBatch()
    {
        var work = new Work();
        var thread = Thread(work, commandCapacity: 4);
        Assert.True(await thread.SendAsync(Batch(thread, 1), default));
        var command = new ShardCommand.Checkpoint();
        Assert.True(await thread.PostAsync(command));
        Assert.True(await thread.SendAsync(Batch(thread, 2), default));

        thread.Start();
        thread.Complete();
        await thread.Completion.WaitAsync(Hang);

        // A request waits for at most the batch in hand, not for every batch queued before it.
        Assert.Equal([command, 1L, 2L, "drained"], work.Ran);
    }

    [Fact]
    public async Task PostAsync_FromTheShardThreadOnAFullQueue_DoesNotBlockTheShard()
    {
        var work = new Work();
        var thread = Thread(work, commandCapacity: 2);
        var followUps = Enumerable.Range(0, 10).Select(_ => new ShardCommand.Checkpoint()).ToList();
        var trigger = new ShardCommand.Checkpoint();
        var posted = new List<Task<bool>>();
        work.OnCommand = c =>
        {
            if (ReferenceEquals(c, trigger))
            {
                // Five times the capacity, from the reader's own thread: the sends past capacity wait, the shard goes on.
                posted.AddRange(followUps.Select(f => thread.PostAsync(f).AsTask()));
            }
        };

        thread.Start();
        Assert.True(await thread.PostAsync(trigger));
        await Task.WhenAll(followUps.Select(f => f.Reply.Task)).WaitAsync(Hang);

        Assert.All(await Task.WhenAll(posted), Assert.True);
        thread.Complete();
        await thread.Completion.WaitAsync(Hang);
        Assert.Equal([trigger, .. followUps, "drained"], work.Ran);
    }

    [Fact]
    public async Task Execute_CommandThrows_SenderGetsTheErrorAndTheShardGoesOn()
    {
        var bad = new ShardCommand.Checkpoint();
        var work = new Work { Throws = c => ReferenceEquals(c, bad) };
        var thread = Thread(work, commandCapacity: 4);
        thread.Start();

        Assert.True(await thread.PostAsync(bad));
        await Assert.ThrowsAsync<InvalidOperationException>(() => bad.Reply.Task.WaitAsync(Hang));
        var next = new ShardCommand.Checkpoint();
        Assert.True(await thread.PostAsync(next));
        await next.Reply.Task.WaitAsync(Hang);

        thread.Complete();
        await thread.Completion.WaitAsync(Hang);
        Assert.Equal([next, "drained"], work.Ran);
    }

    [Fact]
    public async Task Process_WorkThrows_CompletionFaultsAndTheStageIsFaulted()
    {
        var health = new HealthRegistry();
        var thread = new ShardThread(0, new Work { ThrowOnEvent = true }, IngestBatch.Size, 4, health.Register("detect-shard-0"), NullLogger.Instance);
        thread.Start();

        Assert.True(await thread.SendAsync(Batch(thread, 1), default));

        await Assert.ThrowsAsync<InvalidOperationException>(() => thread.Completion.WaitAsync(Hang));
        Assert.Single(health.Faulted);
    }
}
