using Microsoft.Extensions.Logging;

namespace RuntimeSentinel.Kafka;

internal sealed partial class FeedbackConsumer
{
    [LoggerMessage(EventId = 1400, Level = LogLevel.Information, Message = "Feedback from {Analyst} ({Signed}): {Verdict} ({Scope}) on {Workload} {Feature} '{Item}' because '{Reason}': {Result} ({Detail})")]
    private static partial void LogVerdict(ILogger logger, string analyst, string signed, string verdict, string scope, string workload, string feature, string item, string reason, string result, string detail);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Warning, Message = "Feedback consumer: {Reason}")]
    private static partial void LogConsumeFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Error, Message = "Could not write the feedback audit file {File}")]
    private static partial void LogAuditFailed(ILogger logger, Exception ex, string file);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Warning, Message = "Feedback topic {Topic} accepts UNSIGNED verdicts (Kafka:FeedbackAllowUnsigned): anyone who can write to it can silence detection. For demos only.")]
    private static partial void LogUnsignedAllowed(ILogger logger, string topic);

    [LoggerMessage(EventId = 1404, Level = LogLevel.Error, Message = "Feedback verdict at {Source} could not be handled; skipped")]
    private static partial void LogHandleFailed(ILogger logger, Exception ex, string source);

    [LoggerMessage(EventId = 1405, Level = LogLevel.Critical, Message = "Feedback consumer stopped on an unrecoverable error; the process is unhealthy")]
    private static partial void LogFaulted(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 1406, Level = LogLevel.Error, Message = "Could not write the feedback audit record to {Topic}: {Reason}")]
    private static partial void LogAuditTopicFailed(ILogger logger, string topic, string reason);
}
