using Microsoft.Extensions.Logging;

namespace RuntimeSentinel.Detection.Shards;

internal sealed partial class ShardModels
{
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
}
