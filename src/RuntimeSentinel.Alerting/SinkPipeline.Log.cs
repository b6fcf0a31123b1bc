using Microsoft.Extensions.Logging;

namespace RuntimeSentinel.Alerting;

internal sealed partial class SinkPipeline
{
    [LoggerMessage(EventId = 3100, Level = LogLevel.Warning, Message = "Sink {Sink}: delivery of {Count} incidents failed (attempt {Attempt}): {Reason}")]
    private static partial void LogDeliveryFailed(ILogger logger, string sink, int count, int attempt, string reason);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "Sink {Sink} still down; {Spilled} incidents wait on disk: {Reason}")]
    private static partial void LogReplayFailed(ILogger logger, string sink, long spilled, string reason);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Information, Message = "Sink {Sink} recovered; every spilled incident was delivered")]
    private static partial void LogRecovered(ILogger logger, string sink);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Error, Message = "Sink {Sink}: spill bound reached, dropped {Count} oldest incidents")]
    private static partial void LogSpillDropped(ILogger logger, string sink, long count);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Error, Message = "Sink {Sink}: could not spill {Count} incidents to disk; they are dropped")]
    private static partial void LogSpillFailed(ILogger logger, Exception ex, string sink, int count);

    [LoggerMessage(EventId = 3106, Level = LogLevel.Critical, Message = "Sink {Sink}: delivery loop stopped on an unexpected error; the process is unhealthy")]
    private static partial void LogFaulted(ILogger logger, Exception ex, string sink);

    [LoggerMessage(EventId = 3107, Level = LogLevel.Warning, Message = "Sink {Sink} did not finish within the shutdown time; {Count} queued incidents spilled to disk for the next start")]
    private static partial void LogStopDeadline(ILogger logger, string sink, int count);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Error, Message = "Sink {Sink} could not render incident {Id}")]
    private static partial void LogRenderFailed(ILogger logger, Exception ex, string sink, string id);
}
