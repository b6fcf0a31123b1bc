namespace RuntimeSentinel.Core.Alerts;

/// <summary>One ATT&amp;CK technique as SIEM schemas want it: tactic and technique with their ids, names and pages, and the sub-technique when there is one.</summary>
internal sealed record AttackReference(
    string TacticId, string TacticName, string TechniqueId, string TechniqueName, string? SubTechniqueId, string? SubTechniqueName)
{
    public const string Framework = "MITRE ATT&CK";

    public string TacticUrl => $"https://attack.mitre.org/tactics/{TacticId}/";

    public string TechniqueUrl => $"https://attack.mitre.org/techniques/{TechniqueId}/";

    public string? SubTechniqueUrl => SubTechniqueId is null ? null : $"https://attack.mitre.org/techniques/{SubTechniqueId.Replace('.', '/')}/";
}

/// <summary>
/// ATT&amp;CK identifiers for what <see cref="MitreTechnique"/> carries (a tactic name and a technique id like
/// <c>T1059.004</c> named "Command and Scripting Interpreter: Unix Shell"): SIEMs key tactics by id (<c>TA0002</c>) and
/// split a sub-technique from its technique, so both schemas get both.
/// </summary>
internal static class AttackReferences
{
    // The Enterprise matrix's tactics (ids are stable across ATT&CK versions).
    private static readonly Dictionary<string, string> TacticIds = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Reconnaissance"] = "TA0043",
        ["Resource Development"] = "TA0042",
        ["Initial Access"] = "TA0001",
        ["Execution"] = "TA0002",
        ["Persistence"] = "TA0003",
        ["Privilege Escalation"] = "TA0004",
        ["Defense Evasion"] = "TA0005",
        ["Credential Access"] = "TA0006",
        ["Discovery"] = "TA0007",
        ["Lateral Movement"] = "TA0008",
        ["Collection"] = "TA0009",
        ["Command and Control"] = "TA0011",
        ["Exfiltration"] = "TA0010",
        ["Impact"] = "TA0040",
    };

    /// <summary>Null for a technique whose tactic is not an Enterprise tactic (none of ours): better no reference than a wrong one.</summary>
    public static AttackReference? For(MitreTechnique? t)
    {
        if (t is null || !TacticIds.TryGetValue(t.Tactic, out var tacticId))
        {
            return null;
        }

        var dot = t.TechniqueId.IndexOf('.', StringComparison.Ordinal);
        if (dot < 0)
        {
            return new AttackReference(tacticId, t.Tactic, t.TechniqueId, t.Name, null, null);
        }

        // "Technique: Sub-technique", as ATT&CK titles them.
        var colon = t.Name.IndexOf(": ", StringComparison.Ordinal);
        var parentName = colon > 0 ? t.Name[..colon] : t.Name;
        var subName = colon > 0 ? t.Name[(colon + 2)..] : t.Name;
        return new AttackReference(tacticId, t.Tactic, t.TechniqueId[..dot], parentName, t.TechniqueId, subName);
    }

    /// <summary>Every distinct technique of an incident's findings, the primary's first.</summary>
    public static List<AttackReference> Of(Incident incident)
    {
        var result = new List<AttackReference>();
        foreach (var m in incident.Samples.Select(s => s.Mitre).Prepend(incident.Primary.Mitre))
        {
            if (For(m) is { } r && !result.Exists(x => x.TechniqueId == r.TechniqueId && x.SubTechniqueId == r.SubTechniqueId && x.TacticId == r.TacticId))
            {
                result.Add(r);
            }
        }

        return result;
    }
}
