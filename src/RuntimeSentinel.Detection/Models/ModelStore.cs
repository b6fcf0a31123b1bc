using System.Text;

namespace RuntimeSentinel.Detection.Models;

/// <summary>A stored model version: its folder, its card (null when unreadable) and whether it is the promoted one.</summary>
public sealed record StoredModel(string Workload, string Version, string Path, ModelCard? Card, bool Promoted, string? Problem);

/// <summary>
/// The model folder: <c>&lt;root&gt;/&lt;workload&gt;/&lt;version&gt;/</c> holding <c>model.json</c> and the model's
/// parts, and <c>&lt;root&gt;/&lt;workload&gt;/PROMOTED</c> naming the version in service. Workload keys
/// (<c>cluster/namespace/kind/name/container</c>) become folder names with '/' written as '~'.
/// </summary>
public sealed class ModelStore(string root)
{
    public const string PromotedFile = "PROMOTED";

    public string Root { get; } = root;

    public static string Slug(string workload)
    {
        var sb = new StringBuilder(workload.Length);
        foreach (var c in workload)
        {
            sb.Append(c == '/' ? '~' : char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
        }

        return sb.ToString();
    }

    public string WorkloadPath(string workload) => Path.Combine(Root, Slug(workload));

    public string VersionPath(string workload, string version) => Path.Combine(WorkloadPath(workload), version);

    /// <summary>Next free version name of the form v1, v2, ...</summary>
    public string NextVersion(string workload)
    {
        var dir = WorkloadPath(workload);
        var max = !Directory.Exists(dir) ? 0 : Directory.EnumerateDirectories(dir)
            .Select(Path.GetFileName)
            .Select(n => n is ['v', .. var rest] && int.TryParse(rest, out var i) ? i : 0)
            .DefaultIfEmpty(0)
            .Max();
        return $"v{max + 1}";
    }

    public string Save(WorkloadModel model)
    {
        var path = VersionPath(model.Card.Workload, model.Card.Version);
        if (Directory.Exists(path))
        {
            throw new IOException($"{path} exists; versions are immutable");
        }

        model.Save(path);
        return path;
    }

    public IReadOnlyList<StoredModel> List()
    {
        if (!Directory.Exists(Root))
        {
            return [];
        }

        var all = new List<StoredModel>();
        foreach (var dir in Directory.EnumerateDirectories(Root).Order(StringComparer.Ordinal))
        {
            var promoted = ReadPromoted(dir);
            // A dot folder is a version being written (models import writes aside, then renames): not a version yet.
            foreach (var v in Directory.EnumerateDirectories(dir).Where(d => !Path.GetFileName(d).StartsWith('.')).Order(StringComparer.Ordinal))
            {
                ModelCard? card = null;
                string? problem = null;
                try
                {
                    card = WorkloadModel.ReadCard(v);
                    if (card.Fingerprint != BehaviourSchema.Fingerprint)
                    {
                        problem = $"fingerprint {card.Fingerprint} does not match this build ({BehaviourSchema.Fingerprint})";
                    }
                }
                catch (ModelRejectedException ex)
                {
                    problem = ex.Message;
                }

                var version = Path.GetFileName(v);
                all.Add(new StoredModel(card?.Workload ?? Path.GetFileName(dir).Replace('~', '/'), version, v, card, version == promoted, problem));
            }
        }

        return all;
    }

    /// <summary>Finds a version by workload key (or its folder name) and version name.</summary>
    public StoredModel? Find(string workload, string version) =>
        List().FirstOrDefault(m => (m.Workload == workload || Slug(m.Workload) == Slug(workload)) && m.Version == version);

    /// <summary>Marks a version as the one in service, after checking that this build can load it.</summary>
    public WorkloadModel Promote(string workload, string version)
    {
        var stored = Find(workload, version) ?? throw new ModelRejectedException($"no model {workload} {version} under {Root}");
        var model = WorkloadModel.Load(stored.Path);
        var dir = Path.GetDirectoryName(stored.Path)!;
        var tmp = Path.Combine(dir, PromotedFile + ".tmp");
        File.WriteAllText(tmp, version + "\n");
        File.Move(tmp, Path.Combine(dir, PromotedFile), overwrite: true);
        return model;
    }

    /// <summary>Every workload's promoted version folder.</summary>
    public IEnumerable<(string WorkloadDir, string Version, string Path)> Promoted()
    {
        if (!Directory.Exists(Root))
        {
            yield break;
        }

        foreach (var dir in Directory.EnumerateDirectories(Root))
        {
            if (ReadPromoted(dir) is { } v)
            {
                yield return (dir, v, Path.Combine(dir, v));
            }
        }
    }

    private static string? ReadPromoted(string workloadDir)
    {
        var file = Path.Combine(workloadDir, PromotedFile);
        try
        {
            // A version is a folder name of this store: anything else ("../..", "/etc") is not followed.
            return File.Exists(file) && new FileInfo(file).Length < 1024 && File.ReadAllText(file).Trim() is { Length: > 0 } v && IsVersionName(v) ? v : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Version folder names: letters, digits, '.', '_' and '-', not "." or "..".</summary>
    public static bool IsVersionName(string v) =>
        v.Length is > 0 and <= 128 && v is not ("." or "..") && v.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
}
