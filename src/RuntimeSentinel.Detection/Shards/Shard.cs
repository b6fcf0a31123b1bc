using System.Diagnostics;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Health;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Models;

namespace RuntimeSentinel.Detection.Shards;

/// <summary>
/// One detection shard: the workloads whose owner hashes to it (<see cref="ShardWorkloads"/>, with their models and
/// checkpoints) and the thread that alone touches them (<see cref="ShardThread"/>). Requests from other threads
/// (snapshots, verdicts, model swaps, checkpoints) become <see cref="ShardCommand"/>s that the thread runs between
/// two events; this type sends them and routes each to the part that handles it.
/// </summary>
internal sealed class Shard : IShardWork
{
    private readonly ShardThread _thread;
    private readonly ShardWorkloads _workloads;
    private readonly ShardModels _models;
    private readonly TimeProvider _time;
    private readonly DetectionMetrics _metrics;

    /// <param name="maxWorkloads">Workloads the shard holds before it evicts one.</param>
    /// <param name="stage">The shard's health: running, stopped, or faulted.</param>
    public Shard(int index, int maxWorkloads, StageHealth stage, ShardContext context, int commandCapacity = ShardThread.DefaultCommandCapacity)
    {
        _time = context.Time;
        _metrics = context.Metrics;
        _thread = new ShardThread(index, this, context.Options.ShardQueueCapacity, commandCapacity, stage, context.Logger);
        _models = new ShardModels(context, _thread.PostAsync);
        _workloads = new ShardWorkloads(index, maxWorkloads, context, _models, new ShardCheckpoints(context));
    }

    public Task Completion => _thread.Completion;

    /// <summary>Events waiting; read when metrics are refreshed.</summary>
    public int QueueCount => _thread.QueueCount;

    /// <summary>The index of the shard an owner hash routes to, among <paramref name="shards"/>.</summary>
    public static int IndexOf(int ownerHash, int shards) => (ownerHash & 0x7fffffff) % shards;

    public IngestBatch Rent() => _thread.Rent();

    public void Start() => _thread.Start();

    public void Complete() => _thread.Complete();

    /// <summary>Hands a batch over, waiting while the shard is full (backpressure); false once the shard is completing.</summary>
    public ValueTask<bool> SendAsync(IngestBatch batch, CancellationToken ct) => _thread.SendAsync(batch, ct);

    /// <summary>One event on its own (callers that send few events); the consume loop batches through a writer.</summary>
    public ValueTask<bool> EnqueueAsync(in IngestItem item, CancellationToken ct)
    {
        var batch = Rent();
        batch.Add(item);
        return SendAsync(batch, ct);
    }

    /// <summary>
    /// The shard's workloads, read on the shard thread between two events (baselines are not thread-safe). A shard
    /// busy for longer than <paramref name="timeout"/> (training a model) is left out rather than read racily.
    /// </summary>
    public async Task<List<WorkloadSnapshot>> SnapshotAsync(TimeSpan timeout)
    {
        var loop = _thread.Completion;
        var command = new ShardCommand.TakeSnapshot();
        var post = _thread.PostAsync(command).AsTask();
        var deadline = Task.Delay(timeout, _time);
        var finished = await Task.WhenAny(post, loop, deadline).ConfigureAwait(false);
        if (finished == post && !await post.ConfigureAwait(false))
        {
            // Stopping: once the loop has drained, no other thread touches the baselines.
            var drained = await Task.WhenAny(loop, deadline).ConfigureAwait(false) == loop;
            return drained ? _workloads.Snapshot() : [];
        }

        if (finished == post)
        {
            finished = await Task.WhenAny(command.Reply.Task, loop, deadline).ConfigureAwait(false);
        }

        if (finished == command.Reply.Task)
        {
            return await command.Reply.Task.ConfigureAwait(false);
        }

        if (finished == loop)
        {
            return _workloads.Snapshot();
        }

        _metrics.SnapshotTimeouts.Inc();
        return [];
    }

    /// <summary>Applies an analyst's verdict on the shard thread (or keeps it until the workload appears).</summary>
    public Task<FeedbackResult> ApplyFeedbackAsync(FeedbackVerdict verdict) => RequestAsync(new ShardCommand.ApplyFeedback(verdict));

    /// <summary>Puts a model version in service for its workload on the shard thread (or keeps it until the workload appears).</summary>
    public Task<FeedbackResult> SwapModelAsync(WorkloadKey key, WorkloadModel model) => RequestAsync(new ShardCommand.SwapModel(key, model));

    /// <summary>Checkpoints the changed workloads on the shard thread; completes when they are handed to the store.</summary>
    public async Task CheckpointAsync()
    {
        var command = new ShardCommand.Checkpoint();
        if (await _thread.PostAsync(command).ConfigureAwait(false))
        {
            await command.Reply.Task.ConfigureAwait(false);
            return;
        }

        // Stopped: once the loop has ended no other thread touches the baselines. Checkpointing again then writes what
        // changed since, such as cooldowns whose alerts became safe after the loop ended.
        if (_thread.Completion.IsCompleted)
        {
            _workloads.CheckpointChanged();
        }
    }

    /// <summary>Runs a state change on the shard thread between two events; Rejected once the shard has stopped.</summary>
    private async Task<FeedbackResult> RequestAsync(ShardCommand.Change command) =>
        await _thread.PostAsync(command).ConfigureAwait(false) ? await command.Reply.Task.ConfigureAwait(false) : FeedbackResult.Rejected;

    void IShardWork.Process(in IngestItem item) => _workloads.Process(item);

    void IShardWork.Execute(ShardCommand command)
    {
        switch (command)
        {
            case ShardCommand.TakeSnapshot c:
                c.Reply.TrySetResult(_workloads.Snapshot());
                break;
            case ShardCommand.Checkpoint c:
                _workloads.CheckpointChanged();
                c.Reply.TrySetResult();
                break;
            case ShardCommand.ApplyFeedback c:
                c.Reply.TrySetResult(_workloads.ApplyFeedback(c.Verdict));
                break;
            case ShardCommand.SwapModel c:
                c.Reply.TrySetResult(_models.Swap(c.Key, c.Model, _workloads.Find(c.Key)));
                break;
            case ShardCommand.InstallTrained c:
                _models.Install(c, _workloads.Find(c.Key));
                break;
            default:
                throw new UnreachableException($"no handler for {command.GetType().Name}");
        }
    }

    // The loop has ended: checkpoint what changed since the last round, before offsets are committed.
    void IShardWork.Drained() => _workloads.CheckpointChanged();
}
