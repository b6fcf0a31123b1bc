using System.Security.Cryptography;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Transforms.Onnx;

namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// An imported ONNX model checked against its card and served through ML.NET's ONNX transformer (ONNX Runtime, CPU):
/// the part behind <see cref="OnnxWindowDetector"/>. Everything about the file is checked when it is loaded, at
/// import and whenever a version folder is read (promote, hot swap, checkpoint restore): a file ONNX Runtime cannot
/// read, an input that is not the card's float [N, features], an output that is not one float per row. The types of
/// this file are the only ones that touch ONNX Runtime, so a process that never loads an imported model never loads
/// its native library.
/// </summary>
internal sealed partial class OnnxWindowModel : IWindowModelPart
{
    /// <summary>
    /// Memory charged per model beyond its file: ONNX Runtime's session, the ML.NET pipeline and one prediction
    /// engine, measured at about 210 KiB for a 1 KiB model (RSS over 200 models loaded and scored once).
    /// </summary>
    public const long FixedBytes = 256 * 1024;

    /// <summary>
    /// Memory charged per byte of the file: the initializers are copied out of the protobuf into tensors, ONNX
    /// Runtime pre-packs MatMul weights (another copy) and keeps an arena for intermediate values. Measured at 3.4
    /// for a 1.8 MB MLP (RSS over 20 models); rounded up to 4.
    /// </summary>
    public const long BytesPerFileByte = 4;

    private readonly string _path;

    private OnnxWindowModel(string path, byte[] bytes, OnnxCard card, ITransformer transformer, MLContext ml)
    {
        _path = path;
        Bytes = bytes;
        Card = card;
        Transformer = transformer;
        Ml = ml;
        Indexes = card.FeatureIndexes();
    }

    public byte[] Bytes { get; }

    public OnnxCard Card { get; }

    /// <summary>Each card feature's index in the window vector, in the model input's order.</summary>
    public int[] Indexes { get; }

    internal ITransformer Transformer { get; }

    internal MLContext Ml { get; }

    public long EstimatedBytes => FixedBytes + (BytesPerFileByte * Bytes.Length);

    /// <summary>Bytes a model file of this size is charged, before loading it (import refuses one the budget cannot hold).</summary>
    public static long EstimateFor(long fileBytes) => FixedBytes + (BytesPerFileByte * fileBytes);

    public string Save(string directory)
    {
        if (Path.GetFullPath(Path.Combine(directory, OnnxCard.ModelFileName)) != Path.GetFullPath(_path))
        {
            File.WriteAllBytes(Path.Combine(directory, OnnxCard.ModelFileName), Bytes);
        }

        File.WriteAllText(Path.Combine(directory, OnnxCard.FileName), Card.ToJson());
        return OnnxCard.ModelFileName;
    }

    /// <summary>Loads and checks a model file against its card; <see cref="ModelRejectedException"/> names the problem.</summary>
    /// <param name="expectSha256">True when the card's <see cref="OnnxCard.Sha256"/> must match (a stored version).</param>
    public static OnnxWindowModel Load(string path, OnnxCard card, bool expectSha256)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelRejectedException($"{path}: cannot read the model ({ex.Message})", ex);
        }

        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (expectSha256 && card.Sha256 is { } want && want != sha)
        {
            throw new ModelRejectedException($"{path}: the file changed since it was imported (SHA-256 {sha[..12]}…, the card says {want[..Math.Min(12, want.Length)]}…)");
        }

        EnsureRuntime();
        CheckSignature(path, bytes, card);
        var ml = new MLContext(seed: 1);
        // One thread per session, on the caller's (the shard's): a model per workload must not bring thread pools.
        ml.SetOnnxSessionOption(new OnnxSessionOptions { PerSessionThreads = true, IntraOpNumThreads = 1, InterOpNumThreads = 1 });
        ITransformer transformer;
        try
        {
            transformer = ml.Transforms.ApplyOnnxModel(new OnnxOptions
            {
                ModelFile = path,
                InputColumns = [card.Input],
                OutputColumns = [card.Output],
                // A row at a time: the batch dimension is fixed to 1 for ML.NET.
                ShapeDictionary = new Dictionary<string, int[]>(StringComparer.Ordinal) { [card.Input] = [1, card.Features.Length] },
                IntraOpNumThreads = 1,
                InterOpNumThreads = 1,
            }).Fit(ml.Data.LoadFromEnumerable(new List<OnnxScorer.Row>(), OnnxScorer.InputSchema(card)));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new ModelRejectedException($"{path}: ML.NET cannot serve the model ({ex.GetType().Name}: {ex.Message})", ex);
        }

        var model = new OnnxWindowModel(path, bytes, card with { Sha256 = sha }, transformer, ml);

        // The declared shapes may be symbolic: one row must give exactly one finite-or-not float.
        var probe = model.CreateScorer();
        var values = probe.Probe(new float[card.Features.Length]);
        if (values != 1)
        {
            throw new ModelRejectedException($"{path}: output '{card.Output}' gives {values} values for one row; one float per row is expected");
        }

        return model;
    }

    /// <summary>The same loaded model under a card with what import measured (the baseline medians).</summary>
    public OnnxWindowModel WithCard(OnnxCard card) => new(_path, Bytes, card, Transformer, Ml);

    /// <summary>A scorer for one thread (a prediction engine is not thread-safe): the detector's, on its shard.</summary>
    public OnnxScorer CreateScorer() => new(this);

    /// <summary>The model's declared inputs and outputs against the card, with ONNX Runtime's own reader.</summary>
    private static void CheckSignature(string path, byte[] bytes, OnnxCard card)
    {
        InferenceSession session;
        try
        {
            using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
            session = new InferenceSession(bytes, options);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new ModelRejectedException($"{path}: not a model ONNX Runtime can load ({FirstLine(ex.Message)})", ex);
        }

        using (session)
        {
            var inputs = session.InputMetadata;
            if (!inputs.TryGetValue(card.Input, out var input))
            {
                throw new ModelRejectedException($"{path}: the card's input '{card.Input}' is not an input of the model (it has: {string.Join(", ", inputs.Keys)})");
            }

            if (inputs.Count != 1)
            {
                throw new ModelRejectedException($"{path}: the model has {inputs.Count} inputs ({string.Join(", ", inputs.Keys)}); one float [N, features] input is expected");
            }

            var dims = input.Dimensions;
            if (input.ElementType != typeof(float) || dims.Length != 2 || dims[1] != card.Features.Length || dims[0] is not (-1 or 1))
            {
                throw new ModelRejectedException(
                    $"{path}: input '{card.Input}' is {Describe(input)}; the card's {card.Features.Length} features need float [N, {card.Features.Length}]");
            }

            if (!session.OutputMetadata.TryGetValue(card.Output, out var output))
            {
                throw new ModelRejectedException($"{path}: the card's output '{card.Output}' is not an output of the model (it has: {string.Join(", ", session.OutputMetadata.Keys)})");
            }

            var od = output.Dimensions;
            var perRow = od.Length switch
            {
                1 => od[0] is -1 or 1,
                2 => od[0] is -1 or 1 && od[1] == 1,
                _ => false,
            };
            if (output.ElementType != typeof(float) || !perRow)
            {
                throw new ModelRejectedException($"{path}: output '{card.Output}' is {Describe(output)}; one float per row is expected (float [N] or [N, 1])");
            }
        }
    }

    private static string Describe(NodeMetadata m) =>
        $"{(!m.IsTensor ? m.OnnxValueType.ToString() : m.ElementType == typeof(float) ? "float" : m.ElementType == typeof(double) ? "double" : m.ElementType.Name.ToLowerInvariant())} [{string.Join(", ", m.Dimensions.Select((d, i) => d >= 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture) : m.SymbolicDimensions.ElementAtOrDefault(i) is { Length: > 0 } s ? s : "?"))}]";

    private static string FirstLine(string s) => s.Split('\n')[0].Trim();

    private static readonly Lock RuntimeGate = new();
    private static bool _runtimeReady;

    /// <summary>
    /// Before ONNX Runtime's environment exists: its official Linux builds (1.29 on) upload usage telemetry and keep a
    /// device identifier under ~/.cache unless ORT_DISABLE_TELEMETRY / ORT_TELEMETRY_DISABLED is set when it starts. A
    /// security daemon reading only Kafka must not open other connections, so both are set in the native environment
    /// (the runtime reads it with getenv; .NET's SetEnvironmentVariable does not reach it on Linux), then telemetry
    /// events are disabled through the API as well.
    /// </summary>
    private static void EnsureRuntime()
    {
        lock (RuntimeGate)
        {
            if (_runtimeReady)
            {
                return;
            }

            if (!OperatingSystem.IsWindows())
            {
                _ = SetEnv("ORT_DISABLE_TELEMETRY", "1", 1);
                _ = SetEnv("ORT_TELEMETRY_DISABLED", "1", 1);
            }

            OrtEnv.Instance().DisableTelemetryEvents();
            _runtimeReady = true;
        }
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
