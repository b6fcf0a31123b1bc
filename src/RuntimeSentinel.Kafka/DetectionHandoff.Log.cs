using Microsoft.Extensions.Logging;

namespace RuntimeSentinel.Kafka;

internal sealed partial class DetectionHandoff
{
    [LoggerMessage(EventId = 1303, Level = LogLevel.Warning, Message = "Rejected {Source}: {Reason}; sent to dead-letter topic ({Total} rejected so far)")]
    private static partial void LogRejected(ILogger logger, string source, string reason, long total);

    [LoggerMessage(EventId = 1312, Level = LogLevel.Warning, Message = "{Events} events' alerts not delivered or spilled within {Seconds} s; their offsets stay uncommitted and they will be processed again")]
    private static partial void LogAlertsNotSafe(ILogger logger, long events, double seconds);
}
