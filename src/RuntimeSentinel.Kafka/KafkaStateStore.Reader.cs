using System.Text;
using Confluent.Kafka;

using RuntimeSentinel.Core.Workloads;

namespace RuntimeSentinel.Kafka;

/// <summary>The reader thread: tails the state topic into the table, newest checkpoint per workload.</summary>
internal sealed partial class KafkaStateStore
{
    private void Run()
    {
        _stage.Running();
        try
        {
            Tail();
            _stage.Stopped();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Without the tail, workloads moving here start learning again: the pod is unhealthy, not silently worse.
            _stage.Faulted($"{ex.GetType().Name}: {ex.Message}");
            LogReaderFaulted(_logger, ex);
        }
        finally
        {
            _caughtUp.TrySetResult();
        }
    }

    private void Tail()
    {
        var topic = _options.StateTopic!;
        var config = _connection.Configure(new ConsumerConfig
        {
            // Assigned, never subscribed: this group id commits nothing and joins no group.
            GroupId = $"{_options.GroupId}.state.{Guid.NewGuid():N}",
            EnableAutoCommit = false,
            EnablePartitionEof = true,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            FetchMaxBytes = Math.Max(52_428_800, _options.StateRecordMaxBytes * 4),
            MaxPartitionFetchBytes = Math.Max(1_048_576, _options.StateRecordMaxBytes + 4096),
        });
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config)
            .SetErrorHandler((_, e) => LogReaderError(_logger, e.Code.ToString(), e.Reason))
            .Build();
        var partitions = Partitions(topic);
        if (partitions.Count == 0)
        {
            LogNoTopic(_logger, topic);
            _caughtUp.TrySetResult();
        }

        foreach (var p in partitions)
        {
            _next[p] = 0;
        }

        consumer.Assign(partitions.Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        _tail = consumer;
        var atEnd = new HashSet<int>();
        while (!_stop.IsCancellationRequested)
        {
            ConsumeResult<byte[]?, byte[]?>? r;
            try
            {
                r = consumer.Consume(TimeSpan.FromMilliseconds(250));
            }
            catch (ConsumeException ex)
            {
                _records.WithLabels("ignored").Inc();
                LogReaderError(_logger, ex.Error.Code.ToString(), ex.Error.Reason);
                continue;
            }

            if (r is null)
            {
                continue;
            }

            _next[r.Partition.Value] = r.Offset.Value + (r.IsPartitionEOF ? 0 : 1);
            if (r.IsPartitionEOF)
            {
                if (atEnd.Add(r.Partition.Value) && atEnd.Count >= partitions.Count)
                {
                    _caughtUp.TrySetResult();
                }

                continue;
            }

            Apply(r.Message.Key, r.Message.Value);
        }

        _tail = null;
        consumer.Close();
    }

    private void Apply(byte[]? key, byte[]? value)
    {
        string workload;
        try
        {
            workload = key is { Length: > 0 and <= 1024 } ? new UTF8Encoding(false, true).GetString(key) : throw new DecoderFallbackException("no key");
        }
        catch (DecoderFallbackException)
        {
            _records.WithLabels("ignored").Inc();
            return;
        }

        if (value is null)
        {
            if (_table.TryRemove(workload, out var old))
            {
                _memory?.Release(old.Length);
                _bytes.Set(Interlocked.Add(ref _tableBytes, -old.Length));
                _workloads.Set(_table.Count);
            }

            _records.WithLabels("deleted").Inc();
            return;
        }

        // Only the header is checked here; the whole record is checked when its workload appears.
        if (value.Length > _options.StateRecordMaxBytes || CheckpointEnvelope.WrittenAt(value) is null)
        {
            _records.WithLabels("ignored").Inc();
            return;
        }

        if (Put(workload, value))
        {
            _records.WithLabels("loaded").Inc();
        }
    }

    private List<int> Partitions(string topic)
    {
        using var admin = new AdminClientBuilder(_connection.Configure(new AdminClientConfig())).Build();
        var meta = admin.GetMetadata(topic, TimeSpan.FromSeconds(30));
        var t = meta.Topics.FirstOrDefault(x => x.Topic == topic);
        return t is null || t.Error.Code != ErrorCode.NoError ? [] : t.Partitions.Select(p => p.PartitionId).Order().ToList();
    }
}
