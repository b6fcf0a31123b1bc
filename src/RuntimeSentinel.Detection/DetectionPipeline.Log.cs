using Microsoft.Extensions.Logging;

namespace RuntimeSentinel.Detection;

public sealed partial class DetectionPipeline
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "Detection started with {Shards} shards")]
    private static partial void LogStarted(ILogger logger, int shards);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Could not refresh per-workload metrics")]
    private static partial void LogMetricsFailed(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 2023, Level = LogLevel.Warning, Message = "Checkpoints not confirmed by the state store within {Seconds} s")]
    private static partial void LogCheckpointFlushTimedOut(ILogger logger, double seconds);
}
