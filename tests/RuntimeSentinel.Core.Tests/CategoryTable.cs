using System.Text.RegularExpressions;
using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Core.Tests;

/// <summary>
/// Reads the category table of docs/alerts.md (the first table under <c>## Categories</c>: columns <c>category</c>,
/// <c>severity</c>, <c>ATT&amp;CK</c>) and lists where it and the catalogue disagree, one line per difference.
/// </summary>
internal static partial class CategoryTable
{
    public static List<string> Compare(string markdown, IReadOnlyList<AlertCategory> catalogue)
    {
        var rows = Parse(markdown);
        if (rows is null)
        {
            return ["no table with a category column under ## Categories"];
        }

        var problems = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, severity, technique) in rows)
        {
            if (!seen.Add(name))
            {
                problems.Add($"{name}: more than one row");
                continue;
            }

            if (catalogue.FirstOrDefault(c => c.Name == name) is not { } entry)
            {
                problems.Add($"{name}: in the table, not in the catalogue");
                continue;
            }

            // An empty cell states nothing; "—" states that the category has no technique of its own.
            if (severity.Length > 0)
            {
                var word = severity.Split(' ')[0];
                if (!SeverityNames.TryParse(word, out var s) || s != entry.DefaultSeverity)
                {
                    problems.Add($"{name}: severity {word} in the table, {entry.DefaultSeverity.ToWire()} in the catalogue");
                }
            }

            if (technique.Length > 0)
            {
                var id = TechniqueId().Match(technique) is { Success: true } m ? m.Value : technique.StartsWith('—') ? null : technique;
                if (id != entry.Technique?.TechniqueId)
                {
                    problems.Add($"{name}: ATT&CK {id ?? "—"} in the table, {entry.Technique?.TechniqueId ?? "—"} in the catalogue");
                }
            }
        }

        problems.AddRange(catalogue.Where(c => !seen.Contains(c.Name)).Select(c => $"{c.Name}: in the catalogue, not in the table"));
        return problems;
    }

    private static List<(string Name, string Severity, string Technique)>? Parse(string markdown)
    {
        var lines = markdown.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        var section = lines.FindIndex(l => l.Trim() == "## Categories");
        var header = section < 0 ? -1 : lines.FindIndex(section, l => l.StartsWith('|'));
        if (header < 0 || lines.Skip(section + 1).Take(header - section - 1).Any(l => l.StartsWith("## ", StringComparison.Ordinal)))
        {
            return null;
        }

        var columns = Cells(lines[header]);
        var (category, severity, technique) = (columns.IndexOf("category"), columns.IndexOf("severity"), columns.IndexOf("ATT&CK"));
        if (category < 0)
        {
            return null;
        }

        string At(List<string> cells, int i) => i >= 0 && i < cells.Count ? cells[i] : "";
        return lines.Skip(header + 2)
            .TakeWhile(l => l.StartsWith('|'))
            .Select(Cells)
            .Select(c => (At(c, category).Trim('`'), At(c, severity), At(c, technique)))
            .ToList();
    }

    private static List<string> Cells(string row) => row.Trim().Trim('|').Split('|').Select(c => c.Trim()).ToList();

    [GeneratedRegex(@"^T\d{4}(\.\d{3})?", RegexOptions.CultureInvariant)]
    private static partial Regex TechniqueId();
}
