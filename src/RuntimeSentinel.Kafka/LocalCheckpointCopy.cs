using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Prometheus;
using RuntimeSentinel.Core.Workloads;

namespace RuntimeSentinel.Kafka;

/// <summary>
/// The state table's copy on local disk (<c>Kafka:StateDirectory</c>), so checkpoints outlive the process where Kafka
/// does not (the embedded cluster): one file per workload (<c>&lt;hash&gt;.ckpt</c>: a 2-byte key length, the workload
/// key, the checkpoint), written off the shard threads by one writer (the newest checkpoint per workload wins), bounded
/// by <c>Kafka:StateDirectoryMaxMiB</c>. Read at start-up, before the topic; files are input like any other.
/// </summary>
/// <param name="records">The store's read counter (by result), so the local copy's reads count with the topic's.</param>
/// <param name="writes">The store's write counter (by result).</param>
/// <param name="logger">The state store's logger: these lines keep the category and event id they had inside it.</param>
internal sealed partial class LocalCheckpointCopy(KafkaOptions options, Counter records, Counter writes, TimeProvider time, ILogger logger) : IDisposable
{
    private readonly string _directory = options.StateDirectory ?? throw new ArgumentException("Kafka:StateDirectory is not set", nameof(options));

    // Not a queue but a coalescing buffer: one entry per workload (a newer checkpoint replaces the unwritten one), so it
    // is bounded by the workloads the node holds, whatever the checkpoint rate or the disk's pace.
    private readonly ConcurrentDictionary<string, byte[]> _unwritten = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _fileSizes = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    private Task _writer = Task.CompletedTask;
    private long _diskBytes;
    private int _writing;

    /// <summary>
    /// Hands every checkpoint on disk to <paramref name="put"/> (workload, checkpoint; false when the table refused it),
    /// then starts the writer. Called once, before the state topic is read.
    /// </summary>
    public void Load(Func<string, byte[], bool> put)
    {
        var dir = _directory;
        Directory.CreateDirectory(dir);
        foreach (var file in Directory.EnumerateFiles(dir, "*.ckpt"))
        {
            try
            {
                var info = new FileInfo(file);
                if (info.Length > options.StateRecordMaxBytes + 2 + 1024)
                {
                    records.WithLabels("ignored").Inc();
                    continue;
                }

                var data = File.ReadAllBytes(file);
                var keyLength = data.Length >= 2 ? BinaryPrimitives.ReadUInt16LittleEndian(data) : int.MaxValue;
                if (keyLength is 0 or > 1024 || 2 + keyLength >= data.Length)
                {
                    records.WithLabels("ignored").Inc();
                    continue;
                }

                var workload = new UTF8Encoding(false, true).GetString(data, 2, keyLength);
                var checkpoint = data[(2 + keyLength)..];
                if (CheckpointEnvelope.WrittenAt(checkpoint) is null || Path.GetFileName(file) != FileName(workload))
                {
                    records.WithLabels("ignored").Inc();
                    continue;
                }

                _fileSizes[workload] = data.Length;
                _diskBytes += data.Length;
                if (put(workload, checkpoint))
                {
                    records.WithLabels("local").Inc();
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DecoderFallbackException)
            {
                records.WithLabels("ignored").Inc();
                LogLocalCopyFailed(logger, file, ex.Message);
            }
        }

        _writer = Task.Factory.StartNew(WriteLoopAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Queues <paramref name="checkpoint"/> for its file, replacing one of the same workload not written yet.</summary>
    public void Save(string workload, byte[] checkpoint)
    {
        _unwritten[workload] = checkpoint;
        _wake.Release();
    }

    /// <summary>Waits until every checkpoint handed over is in its file (or refused); false at the timeout.</summary>
    public bool Flush(TimeSpan timeout)
    {
        var start = time.GetTimestamp();
        while (!_unwritten.IsEmpty || Volatile.Read(ref _writing) != 0)
        {
            if (time.GetElapsedTime(start) > timeout || _writer.IsCompleted)
            {
                return _unwritten.IsEmpty;
            }

            Thread.Sleep(5);
        }

        return true;
    }

    private async Task WriteLoopAsync()
    {
        while (!_stop.IsCancellationRequested || !_unwritten.IsEmpty)
        {
            try
            {
                await _wake.WaitAsync(TimeSpan.FromSeconds(1), _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopping: write what is left, then end.
            }

            Interlocked.Exchange(ref _writing, 1);
            try
            {
                foreach (var workload in _unwritten.Keys)
                {
                    if (_unwritten.TryRemove(workload, out var checkpoint))
                    {
                        WriteFile(workload, checkpoint);
                    }
                }
            }
            finally
            {
                Interlocked.Exchange(ref _writing, 0);
            }

            if (_stop.IsCancellationRequested && _unwritten.IsEmpty)
            {
                return;
            }
        }
    }

    private void WriteFile(string workload, byte[] checkpoint)
    {
        var key = Encoding.UTF8.GetBytes(workload);
        var size = 2L + key.Length + checkpoint.Length;
        var old = _fileSizes.GetValueOrDefault(workload);
        if (_diskBytes - old + size > (long)options.StateDirectoryMaxMiB << 20)
        {
            writes.WithLabels("local_full").Inc();
            return;
        }

        var path = Path.Combine(_directory, FileName(workload));
        try
        {
            var tmp = path + ".tmp";
            using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                Span<byte> length = stackalloc byte[2];
                BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)key.Length);
                f.Write(length);
                f.Write(key);
                f.Write(checkpoint);
            }

            File.Move(tmp, path, overwrite: true);
            _fileSizes[workload] = size;
            _diskBytes += size - old;
            writes.WithLabels("local").Inc();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            writes.WithLabels("local_failed").Inc();
            LogLocalCopyFailed(logger, path, ex.Message);
        }
    }

    /// <summary>A file name from the workload key that no key can turn into a path.</summary>
    private static string FileName(string workload) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(workload)).AsSpan(0, 12)) + ".ckpt";

    /// <summary>Writes what is left (for at most 5 s: the process is stopping), then stops the writer.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            _writer.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException ex)
        {
            LogLocalCopyFailed(logger, _directory, ex.InnerException?.Message ?? ex.Message);
        }

        _stop.Dispose();
        _wake.Dispose();
    }

    [LoggerMessage(EventId = 1507, Level = LogLevel.Warning, Message = "Local state copy {File}: {Reason}")]
    private static partial void LogLocalCopyFailed(ILogger logger, string file, string reason);
}
