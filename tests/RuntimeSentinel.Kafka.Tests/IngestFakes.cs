using System.Diagnostics;
using System.Reflection;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Prometheus;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Kafka.Tests;

/// <summary>Detection as the consume loop sees it: records what it is handed and answers checkpoints as told.</summary>
internal sealed class FakeIngress : IDetectionIngress
{
    private long _awaitingAlerts;

    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(10);

    public long EventsAwaitingAlerts
    {
        get => Interlocked.Read(ref _awaitingAlerts);
        set => Interlocked.Exchange(ref _awaitingAlerts, value);
    }

    public FakeWriter Writer { get; } = new();

    public int DriveCheckpointsCalls { get; private set; }

    public int CompleteCalls { get; private set; }

    /// <summary>Checkpoints asked for and not answered by <see cref="CheckpointAnswer"/>; the test completes them.</summary>
    public List<TaskCompletionSource<bool>> Checkpoints { get; } = [];

    /// <summary>When set, every checkpoint is answered at once with it.</summary>
    public bool? CheckpointAnswer { get; set; }

    public int CheckpointCalls { get; private set; }

    public ValueTask<bool> EnqueueAsync(in IngestItem item, CancellationToken cancellationToken) => throw new NotSupportedException("the consume loop writes through its writer");

    public IIngestWriter CreateWriter() => Writer;

    public void DriveCheckpoints() => DriveCheckpointsCalls++;

    public Task<bool> CheckpointAsync(TimeSpan timeout)
    {
        CheckpointCalls++;
        if (CheckpointAnswer is { } answer)
        {
            return Task.FromResult(answer);
        }

        // Not RunContinuationsAsynchronously: a round's end runs when the test answers, before SetResult returns.
        var tcs = new TaskCompletionSource<bool>();
        Checkpoints.Add(tcs);
        return tcs.Task;
    }

    public Task CompleteAsync()
    {
        CompleteCalls++;
        return Task.CompletedTask;
    }
}

/// <summary>A writer that keeps what it is given until flushed; how old the pending events are is set by the test.</summary>
internal sealed class FakeWriter : IIngestWriter
{
    public List<IngestItem> Written { get; } = [];

    public List<IngestItem> HandedOver { get; } = [];

    public int Pending => Written.Count;

    public long PendingSince { get; set; }

    public ValueTask<bool> WriteAsync(in IngestItem item, CancellationToken cancellationToken)
    {
        if (Written.Count == 0 && PendingSince == 0)
        {
            PendingSince = Stopwatch.GetTimestamp();
        }

        Written.Add(item);
        return ValueTask.FromResult(true);
    }

    public ValueTask<bool> FlushAsync(CancellationToken cancellationToken)
    {
        HandedOver.AddRange(Written);
        Written.Clear();
        PendingSince = 0;
        return ValueTask.FromResult(true);
    }
}

/// <summary>Alert delivery: counts flushes, signals the first, and runs what the test says a flush does.</summary>
internal sealed class FakeAlerts : IAlertPublisher
{
    public TaskCompletionSource Flushed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Action? OnFlush { get; init; }

    public int Flushes { get; private set; }

    public void Publish(Alert alert)
    {
    }

    public Task FlushAsync(TimeSpan timeout)
    {
        Flushes++;
        OnFlush?.Invoke();
        Flushed.TrySetResult();
        return Task.CompletedTask;
    }
}

/// <summary>An <see cref="IConsumer{TKey,TValue}"/> for group bookkeeping: records stores and commits, fails them as scripted.</summary>
public class FakeGroupConsumer : DispatchProxy
{
    public List<TopicPartitionOffset> Stored { get; } = [];

    public List<List<TopicPartitionOffset>> Commits { get; } = [];

    /// <summary>Errors the next commits throw, in order; a commit succeeds once none is left.</summary>
    public Queue<ErrorCode> CommitErrors { get; } = new();

    /// <summary>Partitions whose store throws (revoked between completion and store).</summary>
    public HashSet<TopicPartition> StoreFails { get; } = [];

    public int Polls { get; private set; }

    public Action? OnPoll { get; set; }

    public static IConsumer<Ignore, Ignore> Create(out FakeGroupConsumer fake)
    {
        var proxy = Create<IConsumer<Ignore, Ignore>, FakeGroupConsumer>();
        fake = (FakeGroupConsumer)(object)proxy;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        switch (targetMethod?.Name)
        {
            case nameof(IConsumer<Ignore, Ignore>.StoreOffset) when args is [TopicPartitionOffset position]:
                if (StoreFails.Contains(position.TopicPartition))
                {
                    throw new KafkaException(ErrorCode.Local_State);
                }

                Stored.Add(position);
                return null;
            case nameof(IConsumer<Ignore, Ignore>.Commit):
                if (CommitErrors.TryDequeue(out var error))
                {
                    throw new KafkaException(error);
                }

                Commits.Add((args is [IEnumerable<TopicPartitionOffset> offsets]) ? offsets.ToList() : []);
                return targetMethod.ReturnType == typeof(void) ? null : new List<TopicPartitionOffset>();
            case nameof(IConsumer<Ignore, Ignore>.Consume):
                Polls++;
                OnPoll?.Invoke();
                return null;
            default:
                throw new NotSupportedException(targetMethod?.Name);
        }
    }
}

internal static class Ingest
{
    public static KafkaMetrics Metrics() => new(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));

    public static IngestionHealth Health(KafkaMetrics metrics, TimeProvider? time = null) => new(time ?? TimeProvider.System, metrics);

    /// <summary>A publisher that is never asked to write here (its producer connects on first use only).</summary>
    public static DeadLetterPublisher UnusedDeadLetters(KafkaMetrics metrics)
    {
        var options = Options.Create(new KafkaOptions { BootstrapServers = "localhost:9", Topics = ["t"] });
        var producer = new KafkaProducer(new KafkaConnection(options, NullLogger<KafkaConnection>.Instance), metrics, NullLogger<KafkaProducer>.Instance, options);
        return new DeadLetterPublisher(producer, options, metrics, TimeProvider.System, NullLogger<DeadLetterPublisher>.Instance);
    }

    public static TopicPartition P(int partition, string topic = "t") => new(topic, partition);

    public static double Value(Counter counter, params string[] labels) => counter.WithLabels(labels).Value;
}
