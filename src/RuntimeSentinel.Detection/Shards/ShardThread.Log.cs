using Microsoft.Extensions.Logging;

namespace RuntimeSentinel.Detection.Shards;

internal sealed partial class ShardThread
{
    [LoggerMessage(EventId = 2014, Level = LogLevel.Error, Message = "Detection shard {Shard}: a command (verdict, model swap, snapshot) failed; the shard goes on")]
    private static partial void LogCommandFailed(ILogger logger, Exception ex, int shard);

    [LoggerMessage(EventId = 2015, Level = LogLevel.Critical, Message = "Detection shard {Shard} stopped on an unexpected error; the process is unhealthy")]
    private static partial void LogShardFaulted(ILogger logger, Exception ex, int shard);
}
