using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Models;

namespace RuntimeSentinel.Detection.Shards;

/// <summary>
/// A request that must run on a shard's thread, between two events, because only that thread touches the shard's
/// workloads: a snapshot, an analyst's verdict, a model swap, a checkpoint, or a model trained in the background coming
/// back. Plain data, so the shard's queue holds messages (bounded, countable, testable) rather than closures.
/// </summary>
internal abstract record ShardCommand
{
    /// <summary>The command threw on the shard thread (the shard goes on): its sender gets the exception.</summary>
    public abstract void Fail(Exception error);

    /// <summary>A copy of each of the shard's workloads (<see cref="WorkloadSnapshot"/>).</summary>
    public sealed record TakeSnapshot : ShardCommand
    {
        public TaskCompletionSource<List<WorkloadSnapshot>> Reply { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Fail(Exception error) => Reply.TrySetException(error);
    }

    /// <summary>Checkpoints the shard's changed workloads; the reply says they were handed to the store.</summary>
    public sealed record Checkpoint : ShardCommand
    {
        public TaskCompletionSource Reply { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Fail(Exception error) => Reply.TrySetException(error);
    }

    /// <summary>A change to one workload's state whose sender wants to know how it went.</summary>
    public abstract record Change : ShardCommand
    {
        public TaskCompletionSource<FeedbackResult> Reply { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Fail(Exception error) => Reply.TrySetException(error);
    }

    /// <summary>An analyst's verdict on one of the shard's workloads (kept a while if the workload is not here yet).</summary>
    public sealed record ApplyFeedback(FeedbackVerdict Verdict) : Change;

    /// <summary>A promoted model version for a workload (kept until the workload appears if it is not here yet).</summary>
    public sealed record SwapModel(WorkloadKey Key, WorkloadModel Model) : Change;

    /// <summary>
    /// A model trained off the shard thread for a workload that finished learning; <paramref name="Model"/> is null when
    /// there was too little data, <paramref name="Error"/> set when training failed. Nobody waits for it.
    /// </summary>
    public sealed record InstallTrained(WorkloadKey Key, ModelRuntime Models, ModelRuntime.TrainingJob Job, WorkloadModel? Model, Exception? Error) : ShardCommand
    {
        // The shard thread logs and counts the failure; no sender waits on it.
        public override void Fail(Exception error)
        {
        }
    }
}
