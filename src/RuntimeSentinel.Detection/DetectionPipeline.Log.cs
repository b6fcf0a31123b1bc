using Microsoft.Extensions.Logging;

namespace RuntimeSentinel.Detection;

public sealed partial class DetectionPipeline
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "Detection started with {Shards} shards")]
    private static partial void LogStarted(ILogger logger, int shards);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Workload {Workload} finished learning after {Events} events; now active")]
    private static partial void LogActive(ILogger logger, string workload, long events);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Workload {Workload}: {Feature} baseline reached its cap of {Cap} items; further new items are counted, not learned")]
    private static partial void LogCapacity(ILogger logger, string workload, string feature, int cap);

    [LoggerMessage(EventId = 2024, Level = LogLevel.Warning, Message = "Detection:MemoryBudgetMiB is spent ({Used} of {Limit} bytes): {Workload} could not learn a new {Feature} item; baselines learn no new items until evictions free memory (sentinel_model_memory_refusals_total{{what=\"baseline_items\"}})")]
    private static partial void LogMemorySpent(ILogger logger, string workload, string feature, long used, long limit);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Evicted idle workload {Workload}: MaxWorkloads reached")]
    private static partial void LogEvicted(ILogger logger, string workload);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Could not refresh per-workload metrics")]
    private static partial void LogMetricsFailed(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Information, Message = "Workload {Workload}: trained model {Version}; calibrated thresholds {Thresholds}")]
    private static partial void LogModelTrained(ILogger logger, string workload, string version, string thresholds);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Information, Message = "Workload {Workload}: too little learning data to train a model; novelty detection only")]
    private static partial void LogModelInsufficient(ILogger logger, string workload);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Error, Message = "Workload {Workload}: model training failed; novelty detection only")]
    private static partial void LogModelFailed(ILogger logger, Exception ex, string workload);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Information, Message = "Workload {Workload}: model {Version} put in service")]
    private static partial void LogModelSwapped(ILogger logger, string workload, string version);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Warning, Message = "Workload {Workload}: {Detector} exceeded its threshold too often in shadow; recalibrated to {Threshold}")]
    private static partial void LogRecalibrated(ILogger logger, string workload, string detector, double threshold);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Warning, Message = "Workload {Workload}: new image {Digest}; relearning (stale)")]
    private static partial void LogRelearning(ILogger logger, string workload, string digest);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Warning, Message = "Workload {Workload}: model {Version} put in service without {Cut}: Detection:Models:MemoryBudgetMiB is spent ({Used} of {Limit} bytes)")]
    private static partial void LogModelTrimmed(ILogger logger, string workload, string version, string cut, long used, long limit);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Warning, Message = "Workload {Workload}: model {Version} not put in service: Detection:Models:MemoryBudgetMiB is spent ({Used} of {Limit} bytes); novelty detection only")]
    private static partial void LogModelRefused(ILogger logger, string workload, string version, long used, long limit);

    [LoggerMessage(EventId = 2014, Level = LogLevel.Error, Message = "Detection shard {Shard}: a command (verdict, model swap, snapshot) failed; the shard goes on")]
    private static partial void LogCommandFailed(ILogger logger, Exception ex, int shard);

    [LoggerMessage(EventId = 2015, Level = LogLevel.Critical, Message = "Detection shard {Shard} stopped on an unexpected error; the process is unhealthy")]
    private static partial void LogShardFaulted(ILogger logger, Exception ex, int shard);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Error, Message = "Detection shard {Shard} failed processing an event of {Workload}")]
    private static partial void LogShardError(ILogger logger, Exception ex, int shard, string workload);

    [LoggerMessage(EventId = 2016, Level = LogLevel.Warning, Message = "Workload {Workload}: container appeared in an active workload ({How}) in pod {Pod}, image {Image}")]
    private static partial void LogContainerAdded(ILogger logger, string workload, string how, string pod, string image);
}
