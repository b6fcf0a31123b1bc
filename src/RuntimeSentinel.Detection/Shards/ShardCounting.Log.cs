using Microsoft.Extensions.Logging;

namespace RuntimeSentinel.Detection.Shards;

internal sealed partial class ShardCounting
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Workload {Workload} finished learning after {Events} events; now active")]
    private static partial void LogActive(ILogger logger, string workload, long events);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Workload {Workload}: {Feature} baseline reached its cap of {Cap} items; further new items are counted, not learned")]
    private static partial void LogCapacity(ILogger logger, string workload, string feature, int cap);

    [LoggerMessage(EventId = 2024, Level = LogLevel.Warning, Message = "Detection:MemoryBudgetMiB is spent ({Used} of {Limit} bytes): {Workload} could not learn a new {Feature} item; baselines learn no new items until evictions free memory (sentinel_model_memory_refusals_total{{what=\"baseline_items\"}})")]
    private static partial void LogMemorySpent(ILogger logger, string workload, string feature, long used, long limit);

    [LoggerMessage(EventId = 2030, Level = LogLevel.Warning, Message = "Workload {Workload}: behaviour drifted from what model {Version} was trained on (PSI {Psi:0.###}; most shifted: {Features}) for {Evaluations} evaluations in a row; retrain suggested")]
    private static partial void LogRetrainSuggested(ILogger logger, string workload, string version, double psi, string features, int evaluations);
}
