using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

using RuntimeSentinel.Core.Workloads;

namespace RuntimeSentinel.Kafka;

/// <summary>
/// The local copy: one file per workload (<c>&lt;hash&gt;.ckpt</c>: a 2-byte key length, the workload key, the
/// checkpoint), written off the shard threads by one writer (the newest checkpoint per workload wins), bounded by
/// <c>Kafka:StateDirectoryMaxMiB</c>. Read at start-up before the topic; files are input like any other.
/// </summary>
internal sealed partial class KafkaStateStore
{
    private readonly ConcurrentDictionary<string, byte[]> _unwritten = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _fileSizes = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _wake = new(0);
    private Task _writer = Task.CompletedTask;
    private long _diskBytes;
    private int _writing;

    private bool HasLocalCopy => !string.IsNullOrEmpty(_options.StateDirectory);

    private void LoadLocalCopy()
    {
        var dir = _options.StateDirectory!;
        Directory.CreateDirectory(dir);
        foreach (var file in Directory.EnumerateFiles(dir, "*.ckpt"))
        {
            try
            {
                var info = new FileInfo(file);
                if (info.Length > _options.StateRecordMaxBytes + 2 + 1024)
                {
                    _records.WithLabels("ignored").Inc();
                    continue;
                }

                var data = File.ReadAllBytes(file);
                var keyLength = data.Length >= 2 ? BinaryPrimitives.ReadUInt16LittleEndian(data) : int.MaxValue;
                if (keyLength is 0 or > 1024 || 2 + keyLength >= data.Length)
                {
                    _records.WithLabels("ignored").Inc();
                    continue;
                }

                var workload = new UTF8Encoding(false, true).GetString(data, 2, keyLength);
                var checkpoint = data[(2 + keyLength)..];
                if (CheckpointEnvelope.WrittenAt(checkpoint) is null || Path.GetFileName(file) != FileName(workload))
                {
                    _records.WithLabels("ignored").Inc();
                    continue;
                }

                _fileSizes[workload] = data.Length;
                _diskBytes += data.Length;
                if (Put(workload, checkpoint))
                {
                    _records.WithLabels("local").Inc();
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DecoderFallbackException)
            {
                _records.WithLabels("ignored").Inc();
                LogLocalCopyFailed(_logger, file, ex.Message);
            }
        }

        _writer = Task.Factory.StartNew(WriteLoopAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    private void SaveLocal(string workload, byte[] checkpoint)
    {
        _unwritten[workload] = checkpoint;
        _wake.Release();
    }

    /// <summary>Waits until every checkpoint handed over is in its file (or refused); false at the timeout.</summary>
    private bool FlushLocal(TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (!_unwritten.IsEmpty || Volatile.Read(ref _writing) != 0)
        {
            if (DateTime.UtcNow > until || _writer.IsCompleted)
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
        if (_diskBytes - old + size > (long)_options.StateDirectoryMaxMiB << 20)
        {
            _writes.WithLabels("local_full").Inc();
            return;
        }

        var path = Path.Combine(_options.StateDirectory!, FileName(workload));
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
            _writes.WithLabels("local").Inc();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _writes.WithLabels("local_failed").Inc();
            LogLocalCopyFailed(_logger, path, ex.Message);
        }
    }

    /// <summary>A file name from the workload key that no key can turn into a path.</summary>
    private static string FileName(string workload) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(workload)).AsSpan(0, 12)) + ".ckpt";

    [LoggerMessage(EventId = 1507, Level = LogLevel.Warning, Message = "Local state copy {File}: {Reason}")]
    private static partial void LogLocalCopyFailed(ILogger logger, string file, string reason);
}
