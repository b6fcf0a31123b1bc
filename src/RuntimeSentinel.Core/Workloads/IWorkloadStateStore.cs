namespace RuntimeSentinel.Core.Workloads;

/// <summary>
/// Where workload checkpoints are kept between processes (a compacted Kafka topic in the daemon). Detection asks for a
/// workload's last checkpoint when the workload first appears in a shard, and hands new checkpoints over as it goes.
/// </summary>
public interface IWorkloadStateStore
{
    /// <summary>The newest checkpoint known for the workload, or null. Called on shard threads: must not block.</summary>
    byte[]? Find(WorkloadKey workload);

    /// <summary>Hands a checkpoint over for writing. Called on shard threads: must not block.</summary>
    void Save(WorkloadKey workload, byte[] checkpoint);

    /// <summary>Waits until what was handed over is durable; false when <paramref name="timeout"/> passed first.</summary>
    bool Flush(TimeSpan timeout);
}

/// <summary>No store: baselines live only as long as the process (tests, offline commands).</summary>
public sealed class NoWorkloadStateStore : IWorkloadStateStore
{
    public static NoWorkloadStateStore Instance { get; } = new();

    public byte[]? Find(WorkloadKey workload) => null;

    public void Save(WorkloadKey workload, byte[] checkpoint)
    {
    }

    public bool Flush(TimeSpan timeout) => true;
}
