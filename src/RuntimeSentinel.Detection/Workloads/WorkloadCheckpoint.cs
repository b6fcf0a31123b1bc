using System.IO.Compression;
using System.Runtime.CompilerServices;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Models;

namespace RuntimeSentinel.Detection.Workloads;

/// <summary>A workload as restored from a checkpoint: its baseline and, when one was in service, its model.</summary>
public sealed record RestoredWorkload(string Workload, DateTimeOffset WrittenAt, WorkloadBaseline Baseline, WorkloadModel? Model, bool ModelPromoted);

/// <summary>
/// The checkpoint of one workload: a 4-byte magic, a format version, the time written (UTC ticks, so stores can keep
/// the newest without decompressing), then a Brotli-compressed body (workload key, time
/// written, the baseline's learned items and clocks, the model in service as its files). Small on purpose: records
/// live in a Kafka topic (the embedded cluster keeps 5 MiB per partition). Reading trusts nothing: sizes are bounded
/// before and after decompression, every count by this build's limits, the model by the same loader as the model folder.
/// </summary>
public static class WorkloadCheckpoint
{
    /// <summary>Format written (<see cref="CheckpointEnvelope"/>); format 1 is still read.</summary>
    public const int FormatVersion = CheckpointEnvelope.FormatVersion;

    private const int OldestReadable = CheckpointEnvelope.OldestReadable;

    /// <summary>Largest body after decompression: a baseline at every cap, with its model, stays well below.</summary>
    public const int MaxBodyBytes = 32 << 20;

    /// <summary>A model larger than this (packed) is not checkpointed: the workload keeps its baseline and retrains.</summary>
    public const int MaxModelBytes = 4 << 20;

    private const int HeaderBytes = CheckpointEnvelope.HeaderBytes;

    // Packing a model saves ML.NET parts to disk: done once per model instance, not at every checkpoint.
    private static readonly ConditionalWeakTable<WorkloadModel, byte[]> PackedModels = new();

    /// <param name="includeModel">False to leave the model out (the record would be too large for the topic).</param>
    /// <param name="unsafeCooldown">Cooldowns to leave out: those of alerts that are not safe yet (see <see cref="WorkloadBaseline"/>).</param>
    public static byte[] Write(string workload, WorkloadBaseline baseline, ModelRuntime? models, DateTimeOffset at, bool includeModel = true, Func<Feature, FeatureKey, bool>? unsafeCooldown = null)
    {
        using var output = new MemoryStream();
        Span<byte> header = stackalloc byte[HeaderBytes];
        CheckpointEnvelope.WriteHeader(header, at);
        output.Write(header);
        using (var brotli = new BrotliStream(output, CompressionLevel.Fastest, leaveOpen: true))
        using (var w = new StateWriter(brotli))
        {
            w.String(workload);
            w.Time(at);
            baseline.WriteState(w, unsafeCooldown);
            var model = includeModel ? models?.Model : null;
            var packed = model is null ? null : PackedModels.GetValue(model, Pack);
            if (packed is { Length: > 0 and <= MaxModelBytes })
            {
                w.Bool(true);
                w.Bool(models!.Promoted);
                w.Bytes(packed);
            }
            else
            {
                w.Bool(false);
            }
        }

        return output.ToArray();
    }

    /// <summary>When the checkpoint was written, from its header; null when it is not a checkpoint of this format.</summary>
    public static DateTimeOffset? WrittenAt(ReadOnlySpan<byte> data) => CheckpointEnvelope.WrittenAt(data);

    /// <summary>Reads a checkpoint; throws <see cref="CheckpointRejectedException"/> with the reason when it cannot be used.</summary>
    /// <param name="memory">The node's memory budget the restored items reserve from (null: none).</param>
    public static RestoredWorkload Read(ReadOnlySpan<byte> data, DetectionOptions options, ModelMemoryBudget? memory = null)
    {
        if (!CheckpointEnvelope.HasMagic(data))
        {
            throw new CheckpointRejectedException("not a workload checkpoint (no magic)");
        }

        if (data[4] is < OldestReadable or > FormatVersion)
        {
            throw new CheckpointRejectedException($"checkpoint format {data[4]}; this build reads {OldestReadable} to {FormatVersion}");
        }

        var body = Decompress(data[HeaderBytes..]);
        try
        {
            using var r = new StateReader(body) { Format = data[4] };
            var workload = r.String("workload", 1024);
            var at = r.Time("written_at");
            var baseline = WorkloadBaseline.ReadState(r, options, memory);
            try
            {
                WorkloadModel? model = null;
                var promoted = false;
                if (r.Bool())
                {
                    promoted = r.Bool();
                    model = Unpack(r.Bytes(MaxModelBytes, "model"));
                }

                if (body.Position != body.Length)
                {
                    throw new CheckpointRejectedException($"{body.Length - body.Position} bytes after the end of the checkpoint");
                }

                return new RestoredWorkload(workload, at, baseline, model, promoted);
            }
            catch
            {
                baseline.ReleaseMemory();
                throw;
            }
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException or FormatException or ArgumentException or OverflowException)
        {
            throw new CheckpointRejectedException($"corrupt checkpoint ({ex.GetType().Name}: {ex.Message})", ex);
        }
        catch (ModelRejectedException ex)
        {
            throw new CheckpointRejectedException($"its model: {ex.Message}", ex);
        }
    }

    private static MemoryStream Decompress(ReadOnlySpan<byte> compressed)
    {
        var body = new MemoryStream();
        try
        {
            using var input = new MemoryStream(compressed.ToArray(), writable: false);
            using var brotli = new BrotliStream(input, CompressionMode.Decompress);
            var buffer = new byte[81920];
            int n;
            while ((n = brotli.Read(buffer)) > 0)
            {
                if (body.Length + n > MaxBodyBytes)
                {
                    throw new CheckpointRejectedException($"checkpoint body over {MaxBodyBytes} bytes after decompression");
                }

                body.Write(buffer, 0, n);
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or InvalidOperationException)
        {
            throw new CheckpointRejectedException($"checkpoint body does not decompress ({ex.Message})", ex);
        }

        body.Position = 0;
        return body;
    }

    /// <summary>The model's folder as (name, bytes) pairs; empty when it cannot be saved.</summary>
    private static byte[] Pack(WorkloadModel model)
    {
        var dir = Path.Combine(Path.GetTempPath(), "sentinel-pack-" + Guid.NewGuid().ToString("N"));
        try
        {
            model.Save(dir);
            using var output = new MemoryStream();
            using (var w = new StateWriter(output))
            {
                var files = Directory.GetFiles(dir);
                w.Count(files.Length);
                foreach (var f in files.Order(StringComparer.Ordinal))
                {
                    w.String(Path.GetFileName(f));
                    w.Bytes(File.ReadAllBytes(f));
                }
            }

            return output.ToArray();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return [];
        }
        finally
        {
            TryDelete(dir);
        }
    }

    private static WorkloadModel Unpack(byte[] packed)
    {
        var dir = Path.Combine(Path.GetTempPath(), "sentinel-restore-" + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(dir);
            using (var r = new StateReader(new MemoryStream(packed, writable: false)))
            {
                var files = r.Count(8, "model files");
                for (var i = 0; i < files; i++)
                {
                    var name = r.String("model file name", 64);
                    if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_') || name.StartsWith('.'))
                    {
                        throw new CheckpointRejectedException($"model file name '{name}' is not a plain file name");
                    }

                    File.WriteAllBytes(Path.Combine(dir, name), r.Bytes(MaxModelBytes, "model file"));
                }
            }

            // The same loader as the model folder: schema, feature fingerprint and every part checked.
            return WorkloadModel.Load(dir);
        }
        finally
        {
            TryDelete(dir);
        }
    }

    private static void TryDelete(string dir)
    {
        try
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A temporary folder left behind is not worth failing a checkpoint for.
        }
    }
}
