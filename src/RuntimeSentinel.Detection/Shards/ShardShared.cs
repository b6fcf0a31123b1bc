using System.Collections.Concurrent;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Models;

namespace RuntimeSentinel.Detection.Shards;

/// <summary>
/// What a pipeline's shards share, all thread-safe: the node's memory budgets, which workloads have state on this
/// node, and alerts not yet safe. The shards write to it; the pipeline reads it. Neither holds the other.
/// </summary>
internal sealed class ShardShared(ModelMemoryBudget nodeMemory, ModelMemoryBudget modelMemory)
{
    private long _alertsInFlight;
    private int _memoryRefusalLogged;

    public ModelMemoryBudget NodeMemory { get; } = nodeMemory;

    public ModelMemoryBudget ModelMemory { get; } = modelMemory;

    public ConcurrentDictionary<WorkloadKey, byte> Tracked { get; } = new();

    /// <summary>Told (on the shard's thread) when a workload gets state on this node.</summary>
    public Action<WorkloadKey>? Appeared { get; set; }

    public long AlertsInFlight => Interlocked.Read(ref _alertsInFlight);

    public void AlertsRaised() => Interlocked.Increment(ref _alertsInFlight);

    public void AlertsSafe() => Interlocked.Decrement(ref _alertsInFlight);

    /// <summary>True the first time only: a spent node budget is logged once per process.</summary>
    public bool FirstMemoryRefusal() => Interlocked.Exchange(ref _memoryRefusalLogged, 1) == 0;
}
