namespace RuntimeSentinel.Core.Workloads;

/// <summary>
/// A share of the node's memory that holders of detection state reserve from before they grow (baselines, models,
/// the table of checkpoints read from the state topic). Thread-safe.
/// </summary>
public interface IMemoryBudget
{
    /// <summary>Reserves the bytes, or returns false (and reserves nothing) when the budget cannot hold them.</summary>
    bool TryReserve(long bytes);

    void Release(long bytes);
}
