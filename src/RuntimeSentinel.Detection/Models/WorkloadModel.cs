using System.Text.Json;

namespace RuntimeSentinel.Detection.Models;

/// <summary>A trained, calibrated set of detectors for one workload: the card plus its behaviour and sequence parts.</summary>
public sealed class WorkloadModel
{
    public const string CardFile = "model.json";
    public const string BehaviourFile = "behaviour-pca.zip";
    public const string SequenceFile = "sequence.bin";
    public const string KnownItemsFile = "known-items.json";
    public const string BehaviourDetector = "behaviour_pca";
    public const string SequenceDetector = "sequence";
    public const string SpikePrefix = "spike:";
    public const string OnnxPrefix = "onnx:";

    public WorkloadModel(ModelCard card, PcaDetector? behaviour, SequenceModel? sequences, KnownItems? known = null)
        : this(card, behaviour, sequences, known, new Dictionary<string, IWindowModelPart>(StringComparer.Ordinal))
    {
    }

    internal WorkloadModel(ModelCard card, PcaDetector? behaviour, SequenceModel? sequences, KnownItems? known, IReadOnlyDictionary<string, IWindowModelPart> parts)
    {
        Card = card;
        Behaviour = behaviour;
        Sequences = sequences;
        Known = known;
        Parts = parts;
    }

    /// <summary>
    /// Parts that window detector kinds bring themselves (<see cref="DetectorRegistry"/>), by kind name: an
    /// imported ONNX model. Loaded, saved and charged with the rest of the version.
    /// </summary>
    internal IReadOnlyDictionary<string, IWindowModelPart> Parts { get; }

    /// <summary>
    /// The executables, files and endpoints the workload's novelty baseline knew at training time, behind the
    /// new-item ratios of the behaviour vector. Offline scoring starts from them; the daemon uses its live baseline.
    /// </summary>
    public KnownItems? Known { get; }

    public ModelCard Card { get; }

    public PcaDetector? Behaviour { get; }

    public SequenceModel? Sequences { get; }

    /// <summary>Memory the model holds in service (behaviour detector, sequence tables, imported parts; the card is small, its drift reference a few KB).</summary>
    public long EstimatedBytes => (Behaviour is null ? 0 : PcaDetector.EstimatedBytes) + (Sequences?.EstimatedBytes ?? 0) + Parts.Values.Sum(p => p.EstimatedBytes) + 4096 + DriftReferenceBytes(Card.DriftReference);

    private static long DriftReferenceBytes(DriftReference? r) => r?.Features?.Sum(h => 96 + (8L * ((h?.Edges?.Length ?? 0) + (h?.Proportions?.Length ?? 0)))) ?? 0;

    /// <summary>The same card and behaviour detector with other (fewer) sequence tables.</summary>
    public WorkloadModel WithSequences(SequenceModel? sequences) => new(Card, Behaviour, sequences, Known, Parts);

    /// <summary>The same parts under another card (thresholds recalibrated after shadow).</summary>
    public WorkloadModel WithCard(ModelCard card) => new(card, Behaviour, Sequences, Known, Parts);

    /// <summary>Whether <paramref name="name"/> names a model detector (behaviour, sequence, one of the spike series or an imported ONNX model).</summary>
    public static bool IsDetector(string name) =>
        name is BehaviourDetector or SequenceDetector
        || (name.StartsWith(SpikePrefix, StringComparison.Ordinal) && BehaviourSchema.Series.Any(s => s.Feature == name[SpikePrefix.Length..]))
        || (name.StartsWith(OnnxPrefix, StringComparison.Ordinal) && OnnxCard.IsName(name[OnnxPrefix.Length..]));

    public double ThresholdOf(string detector) => Card.Thresholds.TryGetValue(detector, out var t) ? t : double.PositiveInfinity;

    /// <summary>Writes the card and parts into <paramref name="directory"/> (created), card last so a reader never sees a card without its files.</summary>
    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        var files = new Dictionary<string, string>();
        if (Behaviour is not null)
        {
            Behaviour.Save(Path.Combine(directory, BehaviourFile));
            files["behaviour"] = BehaviourFile;
        }

        if (Sequences is not null)
        {
            Sequences.Save(Path.Combine(directory, SequenceFile));
            files["sequence"] = SequenceFile;
        }

        foreach (var (kind, part) in Parts)
        {
            files[kind] = part.Save(directory);
        }

        if (Known is not null)
        {
            File.WriteAllText(Path.Combine(directory, KnownItemsFile), JsonSerializer.Serialize(Known, ModelCard.Json));
            files["known_items"] = KnownItemsFile;
        }

        var card = Card with { Files = files };
        var tmp = Path.Combine(directory, CardFile + ".tmp");
        File.WriteAllText(tmp, JsonSerializer.Serialize(card, ModelCard.Json));
        File.Move(tmp, Path.Combine(directory, CardFile), overwrite: true);
    }

    public static ModelCard ReadCard(string directory)
    {
        var path = Path.Combine(directory, CardFile);
        try
        {
            return JsonSerializer.Deserialize<ModelCard>(File.ReadAllText(path), ModelCard.Json)
                ?? throw new ModelRejectedException($"{path}: empty model card");
        }
        catch (Exception ex) when (ex is not (ModelRejectedException or OutOfMemoryException))
        {
            throw new ModelRejectedException($"{path}: unreadable model card ({ex.Message})", ex);
        }
    }

    /// <summary>
    /// A part named by a card, inside its version folder: a plain file name, never a path. A card is input like any
    /// other (the model folder is shared), so "../../etc/passwd" or an absolute path is refused, not opened.
    /// </summary>
    public static string PartPath(string directory, string name)
    {
        if (string.IsNullOrWhiteSpace(name) || name is "." or ".." || name.IndexOfAny(['/', '\\', '\0']) >= 0 || Path.IsPathRooted(name) || Path.GetFileName(name) != name)
        {
            throw new ModelRejectedException($"{directory}: the card names '{name}', which is not a file in its version folder");
        }

        var full = Path.GetFullPath(Path.Combine(directory, name));
        var root = Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        if (!full.StartsWith(root, StringComparison.Ordinal))
        {
            throw new ModelRejectedException($"{directory}: the card names '{name}', which is outside its version folder");
        }

        return full;
    }

    /// <summary>Loads a version folder; refuses a card whose feature fingerprint is not this code's.</summary>
    public static WorkloadModel Load(string directory)
    {
        var card = ReadCard(directory);
        if (card.Schema != ModelCard.SchemaId)
        {
            throw new ModelRejectedException($"{directory}: card schema '{card.Schema}' is not {ModelCard.SchemaId}");
        }

        if (card.Fingerprint != BehaviourSchema.Fingerprint)
        {
            throw new ModelRejectedException(
                $"{directory}: feature fingerprint {card.Fingerprint} does not match this build's {BehaviourSchema.Fingerprint} " +
                $"(trained by {card.CodeVersion} on features [{string.Join(',', card.FeatureSchema)}]); retrain it with this version");
        }

        try
        {
            PcaDetector? behaviour = null;
            if (card.Files.TryGetValue("behaviour", out var b))
            {
                var n = BehaviourSchema.Features.Length;
                if (card.ScalerMean?.Length != n || card.ScalerScale?.Length != n || card.FeatureSchema.Length != n)
                {
                    throw new ModelRejectedException($"{directory}: behaviour model without a {n}-feature scaler and schema in the card");
                }

                behaviour = PcaDetector.Load(PartPath(directory, b), new FeatureScaler(card.FeatureSchema, card.ScalerMean!, card.ScalerScale!));
            }

            var sequences = card.Files.TryGetValue("sequence", out var s) ? SequenceModel.Load(PartPath(directory, s)) : null;
            var known = card.Files.TryGetValue("known_items", out var k) ? JsonSerializer.Deserialize<KnownItems>(File.ReadAllText(PartPath(directory, k)), ModelCard.Json) : null;
            var parts = new Dictionary<string, IWindowModelPart>(StringComparer.Ordinal);
            foreach (var (kind, load) in DetectorRegistry.Default.PartLoaders)
            {
                if (card.Files.TryGetValue(kind, out var file))
                {
                    parts[kind] = load(directory, PartPath(directory, file), card);
                }
            }

            return new WorkloadModel(card, behaviour, sequences, known, parts);
        }
        catch (Exception ex) when (ex is not (ModelRejectedException or OutOfMemoryException))
        {
            // Whatever a broken or crafted part makes a loader throw, the answer is the same: refused, never a crash.
            throw new ModelRejectedException($"{directory}: cannot load model parts ({ex.GetType().Name}: {ex.Message})", ex);
        }
    }
}

/// <summary>Items a novelty baseline knew: executables, normalised file paths, endpoints as ip|protocol|port.</summary>
public sealed record KnownItems(string[] Executables, string[] Files, string[] Endpoints)
{
    public static KnownItems From(Baseline.WorkloadBaseline b) => new(
        b.Counter(Baseline.Feature.Exec).Items.Select(i => i.Key.A).Order(StringComparer.Ordinal).ToArray(),
        b.Counter(Baseline.Feature.File).Items.Select(i => i.Key.A).Order(StringComparer.Ordinal).ToArray(),
        b.Counter(Baseline.Feature.Endpoint).Items.Select(i => $"{i.Key.A}|{i.Key.B}|{i.Key.N}").Order(StringComparer.Ordinal).ToArray());

    /// <summary>Teaches the items to a fresh baseline (offline scoring), so "new item" means new since training.</summary>
    public void SeedInto(Baseline.WorkloadBaseline b)
    {
        foreach (var e in Executables)
        {
            b.Absorb(Baseline.Feature.Exec, new Baseline.FeatureKey(e));
        }

        foreach (var f in Files)
        {
            b.Absorb(Baseline.Feature.File, new Baseline.FeatureKey(f));
        }

        foreach (var e in Endpoints)
        {
            var parts = e.Split('|');
            if (parts.Length == 3 && int.TryParse(parts[2], System.Globalization.CultureInfo.InvariantCulture, out var port))
            {
                b.Absorb(Baseline.Feature.Endpoint, new Baseline.FeatureKey(parts[0], parts[1], port));
            }
        }
    }
}
