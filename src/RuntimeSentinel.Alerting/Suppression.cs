using System.Globalization;
using System.Text.Json;
using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Alerting;

/// <summary>
/// One suppression rule: every matcher given must match (globs with <c>*</c> and <c>?</c>); it applies until
/// <see cref="Expires"/> and always carries a reason and an author, so silences are deliberate and temporary.
/// </summary>
internal sealed record SuppressionRule(string Id, string? Workload, string? Category, string? Executable, string? Path, string? Endpoint, DateTimeOffset Expires, string Reason, string? CreatedBy)
{
    public bool Matches(Alert a, DateTimeOffset now)
    {
        if (now >= Expires)
        {
            return false;
        }

        var e = a.Evidence.Count > 0 ? a.Evidence[0] : default;
        var endpoint = e.Net.RemoteIp is { } ip ? $"{ip}:{e.Net.RemotePort}" : e.Net.LocalPort >= 0 ? $"*:{e.Net.LocalPort}" : null;
        return Match(Workload, a.Workload.Value) && Match(Category, a.Category) && Match(Executable, e.Process.Exe)
            && Match(Path, e.FilePath) && Match(Endpoint, endpoint ?? e.DnsName);
    }

    private static bool Match(string? pattern, string? value) => pattern is null || (value is not null && Glob.IsMatch(pattern, value));
}

/// <summary>
/// Glob matching with <c>*</c> (any run) and <c>?</c> (one character), without regular expressions: the greedy
/// two-pointer walk takes at most pattern × value steps, so a crafted path (alerts carry attacker-chosen text)
/// cannot make a rule take exponential time.
/// </summary>
internal static class Glob
{
    public static bool IsMatch(ReadOnlySpan<char> pattern, ReadOnlySpan<char> value) => IsMatch(pattern, value, out _);

    /// <summary>Also counts the steps of the walk, so that tests check the work done rather than time it.</summary>
    internal static bool IsMatch(ReadOnlySpan<char> pattern, ReadOnlySpan<char> value, out long steps)
    {
        int p = 0, v = 0, star = -1, resume = 0;
        steps = 0;
        while (v < value.Length)
        {
            steps++;
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == value[v]))
            {
                p++;
                v++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                resume = v;
            }
            else if (star >= 0)
            {
                // Let the last star swallow one more character and retry from there.
                p = star + 1;
                v = ++resume;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            steps++;
            p++;
        }

        return p == pattern.Length;
    }
}

/// <summary>
/// Loads and validates the suppression file (<c>{"rules": [...]}</c>, docs/alerts.md) and reloads it when it changes.
/// An invalid file is reported with every error and the previous rules stay in force.
/// </summary>
internal sealed class SuppressionRules
{
    private static readonly HashSet<string> Known = ["id", "workload", "category", "executable", "path", "endpoint", "expires", "reason", "created_by"];

    public const int MaxFileBytes = 4 * 1024 * 1024;

    private (DateTime Mtime, long Size) _loadedVersion = (DateTime.MinValue, -1);

    public IReadOnlyList<SuppressionRule> Rules { get; private set; } = [];

    public IReadOnlyList<string> LastErrors { get; private set; } = [];

    public SuppressionRule? Match(Alert alert, DateTimeOffset now)
    {
        foreach (var r in Rules)
        {
            if (r.Matches(alert, now))
            {
                return r;
            }
        }

        return null;
    }

    /// <summary>Reloads if the file changed. Returns null when nothing changed, else whether the new file was valid.</summary>
    public bool? ReloadIfChanged(string path)
    {
        var info = new FileInfo(path);
        var version = info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -2L);
        if (version == _loadedVersion)
        {
            return null;
        }

        _loadedVersion = version;
        if (!info.Exists)
        {
            LastErrors = [$"{path}: file not found"];
            return false;
        }

        if (info.Length > MaxFileBytes)
        {
            LastErrors = [$"{path}: {info.Length} bytes is more than the {MaxFileBytes}-byte limit for a suppression file"];
            return false;
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Replaced or removed between the check and the read: keep the rules in force, try again next time.
            _loadedVersion = (DateTime.MinValue, -3);
            LastErrors = [$"{path}: {ex.Message}"];
            return false;
        }

        var (rules, errors) = Parse(text, path);
        LastErrors = errors;
        if (errors.Count > 0)
        {
            return false;
        }

        Rules = rules;
        return true;
    }

    public static (List<SuppressionRule> Rules, List<string> Errors) Parse(string json, string source)
    {
        var rules = new List<SuppressionRule>();
        var errors = new List<string>();
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            errors.Add($"{source}: invalid JSON at line {ex.LineNumber + 1}: {ex.Message.Split(". ")[0]}");
            return (rules, errors);
        }

        using (doc)
        {
            try
            {
                ParseRules(doc, source, rules, errors);
            }
            catch (InvalidOperationException ex)
            {
                // A string that is not valid text (an escaped lone surrogate): the file is refused, not the process.
                rules.Clear();
                errors.Add($"{source}: {ex.Message}");
            }
        }

        return (rules, errors);
    }

    private static void ParseRules(JsonDocument doc, string source, List<SuppressionRule> rules, List<string> errors)
    {
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("rules", out var list) || list.ValueKind != JsonValueKind.Array)
            {
                errors.Add($"{source}: expected {{\"rules\": [...]}}");
                return;
            }

            var ids = new HashSet<string>(StringComparer.Ordinal);
            var index = 0;
            foreach (var r in list.EnumerateArray())
            {
                var where = $"{source}: rules[{index++}]";
                if (r.ValueKind != JsonValueKind.Object)
                {
                    errors.Add($"{where}: must be an object");
                    continue;
                }

                foreach (var p in r.EnumerateObject())
                {
                    if (!Known.Contains(p.Name))
                    {
                        errors.Add($"{where}: unknown field '{p.Name}' (known: {string.Join(", ", Known)})");
                    }
                    else if (p.Value.ValueKind != JsonValueKind.String)
                    {
                        errors.Add($"{where}: '{p.Name}' must be a string");
                    }
                    else if (p.Value.GetString()!.Length > 1024)
                    {
                        errors.Add($"{where}: '{p.Name}' is longer than 1024 characters");
                    }
                }

                string? S(string n) => r.TryGetProperty(n, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                var id = S("id");
                var reason = S("reason");
                var expires = S("expires");
                if (string.IsNullOrWhiteSpace(id))
                {
                    errors.Add($"{where}: 'id' is required");
                }
                else if (!ids.Add(id))
                {
                    errors.Add($"{where}: duplicate id '{id}'");
                }

                if (string.IsNullOrWhiteSpace(reason))
                {
                    errors.Add($"{where}: 'reason' is required (why is this fine?)");
                }

                if (!DateTimeOffset.TryParse(expires, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var until))
                {
                    errors.Add($"{where}: 'expires' must be an RFC 3339 time (silences are temporary)");
                }

                if (S("workload") is null && S("category") is null && S("executable") is null && S("path") is null && S("endpoint") is null)
                {
                    errors.Add($"{where}: needs at least one matcher (workload, category, executable, path, endpoint)");
                }

                if (errors.Count == 0)
                {
                    rules.Add(new SuppressionRule(id!, S("workload"), S("category"), S("executable"), S("path"), S("endpoint"), until, reason!, S("created_by")));
                }
            }
        }
    }
}
