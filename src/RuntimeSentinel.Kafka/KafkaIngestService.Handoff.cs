namespace RuntimeSentinel.Kafka;

/// <summary>From the decoder threads to detection: decoded batches back in consume order, then the batched hand-off to the shards.</summary>
public sealed partial class KafkaIngestService
{
    private static readonly TimeSpan DecodeWait = TimeSpan.FromMilliseconds(5);

    /// <summary>Handles the decoded batches that are back, oldest first; waits for them if asked or if too many are out.</summary>
    private void TakeDecoded(bool wait, CancellationToken stoppingToken)
    {
        while (true)
        {
            if (!_decoder.TryTake(wait || _decoder.Saturated ? DecodeWait : TimeSpan.Zero, out var batch))
            {
                if (!_decoder.Saturated)
                {
                    return;
                }

                // As many batches out as allowed: no more input until the oldest is back (memory stays bounded).
                _health.Beat();
                continue;
            }

            for (var i = 0; i < batch.Count; i++)
            {
                HandleSafely(batch.Result(i), batch.Tracker(i), batch.Decoded(i), stoppingToken);
            }

            _decoder.Return(batch);
            wait = false;
        }
    }

    /// <summary>
    /// Hands every consumed message to detection: decodes what is still with the decoder, then hands over the writer's
    /// pending events, waiting while a shard is full (backpressure). Before a revoke or stop, nothing stays behind.
    /// </summary>
    private void Flush(CancellationToken stoppingToken)
    {
        _decoder.Submit();
        while (_decoder.Pending > 0)
        {
            TakeDecoded(wait: true, stoppingToken);
        }

        FlushWriter(stoppingToken);
    }

    private void FlushWriter(CancellationToken stoppingToken)
    {
        var flush = _writer.FlushAsync(stoppingToken);
        if (!flush.IsCompletedSuccessfully)
        {
            flush.AsTask().GetAwaiter().GetResult();
        }
    }
}
