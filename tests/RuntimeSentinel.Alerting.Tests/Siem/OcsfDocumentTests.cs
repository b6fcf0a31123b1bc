using System.Text.Json;
using System.Text.Json.Nodes;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.TestCommon.Siem;

namespace RuntimeSentinel.Alerting.Tests.Siem;

/// <summary>
/// The OCSF Detection Finding rendering, and the validator the corpus test relies on: it accepts what we render and
/// refuses each kind of broken document (a validator that passes everything would prove nothing).
/// </summary>
public class OcsfDocumentTests
{
    private readonly OcsfValidator _validator = new(SharedSchemas.RequireOcsf());

    private static JsonObject Render(Incident i) => JsonNode.Parse(IncidentSchemas.ToUtf8(i, IncidentSchema.Ocsf, "https://runbooks.example/{category}/{technique}"))!.AsObject();

    private SchemaReport Check(JsonNode doc)
    {
        using var parsed = JsonDocument.Parse(doc.ToJsonString());
        return _validator.Validate(parsed.RootElement, "detection_finding");
    }

    private void AssertRefused(JsonNode doc, string expected)
    {
        var report = Check(doc);
        Assert.False(report.Valid, "the broken document was accepted");
        Assert.Contains(report.Errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [SkippableTheory]
    [InlineData(IncidentStatus.Firing, 1, 1, "Create")]
    [InlineData(IncidentStatus.Updated, 2, 2, "Update")]
    [InlineData(IncidentStatus.Resolved, 3, 3, "Close")]
    public void Render_IncidentLifecycle_IsAValidDetectionFindingWithItsActivity(IncidentStatus status, int version, int activityId, string activity)
    {
        var doc = Render(SiemIncidents.ShellTree(status, version));
        Assert.True(Check(doc).Valid, Check(doc).ToString());
        Assert.Equal(activityId, (int)doc["activity_id"]!);
        Assert.Equal(activity, (string?)doc["activity_name"]);
        Assert.Equal(200400 + activityId, (int)doc["type_uid"]!);
        Assert.Equal(status != IncidentStatus.Resolved, (bool)doc["is_alert"]!);
        Assert.Equal(version, (int)doc["metadata"]!["sequence"]!);
    }

    [SkippableFact]
    public void Render_ShellTree_CarriesTheFindingItsEvidenceAndTheBaseline()
    {
        var incident = SiemIncidents.ShellTree();
        var doc = Render(incident);
        var info = doc["finding_info"]!;
        Assert.Equal(incident.Id, (string?)info["uid"]);
        Assert.Equal("baseline", (string?)info["analytic"]!["name"]);
        Assert.Equal(["T1059", "T1003", "T1571", "T1496"], info["attacks"]!.AsArray().Select(a => (string?)a!["technique"]!["uid"]));
        Assert.Equal("T1059.004", (string?)info["attacks"]![0]!["sub_technique"]!["uid"]);
        Assert.Equal("TA0002", (string?)info["attacks"]![0]!["tactic"]!["uid"]);

        var evidences = doc["evidences"]!.AsArray();
        Assert.Equal("/bin/sh -c id; cat /etc/shadow", (string?)evidences[0]!["process"]!["cmd_line"]);
        Assert.Equal("/usr/sbin/nginx", (string?)evidences[0]!["process"]!["parent_process"]!["path"]);
        Assert.Equal("bm9kZS1hOjEyMzQ1", (string?)evidences[0]!["process"]!["uid"]);
        Assert.Equal("/etc/shadow", (string?)evidences[1]!["file"]!["path"]);
        Assert.Equal("203.0.113.66", (string?)evidences[2]!["dst_endpoint"]!["ip"]);
        Assert.Equal(4444, (int)evidences[2]!["dst_endpoint"]!["port"]!);
        Assert.Equal("Outbound", (string?)evidences[2]!["connection_info"]!["direction"]);
        Assert.Equal("pool.minexmr.example", (string?)evidences[3]!["query"]!["hostname"]);
        Assert.Equal("0123456789abcdef0123", (string?)doc["container"]!["uid"]);

        // The model finding's top features: observed against the learned baseline, per feature.
        var model = doc["anomaly_analyses"]!.AsArray().Single(a => (string?)a!["anomalies"]![0]!["observation_parameter"] == "cpu_cores")!;
        Assert.Equal("1.97", (string?)model["anomalies"]![0]!["observations"]![0]!["value"]);
        Assert.Equal("0.41", (string?)model["baselines"]![0]!["observations"]![0]!["value"]);
        Assert.Equal("new_exe_ratio", (string?)model["baselines"]![1]!["observation_parameter"]);
        Assert.Equal("https://runbooks.example/unexpected_lineage/T1059.004", (string?)doc["remediation"]!["references"]![0]);
    }

    [SkippableFact]
    public void Render_HostileEvidence_StaysValidAndKeepsTheRawValuesAsStrings()
    {
        var doc = Render(SiemIncidents.Hostile());
        Assert.True(Check(doc).Valid, Check(doc).ToString());
        var evidence = doc["evidences"]![0]!;
        Assert.Null(evidence["dst_endpoint"]); // 999.1.1.1 is no address: only in data
        Assert.Equal("999.1.1.1", (string?)evidence["data"]!["remote_ip"]);
        Assert.Equal("/tmp/\"x\"\n\u001b[2J<script>", (string?)evidence["process"]!["path"]);
        Assert.Null(doc["confidence_score"]); // no positive threshold: no ratio to speak of
    }

    [SkippableFact]
    public void Validate_ClassUidMissing_RefusedAsRequired()
    {
        var doc = Render(SiemIncidents.ShellTree());
        doc.Remove("class_uid");
        AssertRefused(doc, "class_uid: required by detection_finding, missing");
    }

    [SkippableTheory]
    [InlineData("activity_id", 7, "activity_id: 7 is not a value of its enum")]
    [InlineData("class_uid", 2003, "class_uid: 2003 is not a value of its enum")]
    [InlineData("severity_id", 42, "severity_id: 42 is not a value of its enum")]
    [InlineData("type_uid", 200402, "type_uid: 200402 is not class_uid × 100 + activity_id (200401)")]
    [InlineData("type_uid", 300101, "type_uid: 300101 is not a value of its enum")]
    public void Validate_EnumValueNotListed_Refused(string attribute, int value, string expected)
    {
        var doc = Render(SiemIncidents.ShellTree());
        doc[attribute] = value;
        if (attribute == "activity_id")
        {
            doc["type_uid"] = 200400 + value;
        }

        AssertRefused(doc, expected);
    }

    [SkippableFact]
    public void Validate_UnknownAttributeAtTopOrNested_Refused()
    {
        var doc = Render(SiemIncidents.ShellTree());
        doc["colour"] = "red";
        AssertRefused(doc, "colour: 'colour' is not an attribute of detection_finding");

        doc = Render(SiemIncidents.ShellTree());
        doc["evidences"]![0]!["process"]!["exe"] = "/bin/sh";
        AssertRefused(doc, "evidences[0].process.exe: 'exe' is not an attribute of process");
    }

    [SkippableTheory]
    [InlineData("severity_id", "\"4\"", "is not a integer_t")]
    [InlineData("time", "1.5", "is not a timestamp_t (long_t)")]
    [InlineData("is_alert", "\"yes\"", "is not a boolean_t")]
    [InlineData("count", "[1]", "integer_t is not an array attribute")]
    [InlineData("finding_info", "\"x\"", "expected a finding_info object")]
    public void Validate_WrongType_Refused(string attribute, string json, string expected)
    {
        var doc = Render(SiemIncidents.ShellTree());
        doc[attribute] = JsonNode.Parse(json);
        AssertRefused(doc, expected);
    }

    [SkippableTheory]
    [InlineData("ip", "\"999.1.1.1\"", "does not match the pattern of ip_t")]
    [InlineData("port", "70000", "outside port_t's range")]
    [InlineData("port", "\"443\"", "is not a port_t (integer_t)")]
    public void Validate_NestedScalarBreaksItsType_Refused(string attribute, string json, string expected)
    {
        var doc = Render(SiemIncidents.ShellTree());
        doc["evidences"]![2]!["dst_endpoint"]![attribute] = JsonNode.Parse(json);
        AssertRefused(doc, expected);
    }

    [SkippableFact]
    public void Validate_ProfileAttributeWithoutTheProfile_Refused()
    {
        var doc = Render(SiemIncidents.ShellTree());
        doc["metadata"]!["profiles"] = new JsonArray();
        AssertRefused(doc, "container: 'container' is not an attribute of detection_finding");

        // Declared, the process's container (the container profile's attribute of process) is allowed; undeclared, not.
        doc = Render(SiemIncidents.ShellTree());
        doc["evidences"]![0]!["process"]!["container"] = new JsonObject { ["name"] = "nginx" };
        Assert.True(Check(doc).Valid, Check(doc).ToString());
        doc["metadata"]!["profiles"] = new JsonArray();
        doc.Remove("container");
        AssertRefused(doc, "evidences[0].process.container: belongs to profile 'container'");
        doc["metadata"]!["profiles"] = new JsonArray("no_such_profile");
        AssertRefused(doc, "'no_such_profile' is not a profile of the schema");
    }

    [SkippableFact]
    public void Validate_SemanticMismatches_Refused()
    {
        var doc = Render(SiemIncidents.ShellTree());
        doc["activity_name"] = "Update";
        AssertRefused(doc, "activity_name: 'Update' is not the caption of activity_id 1 ('Create')");

        doc = Render(SiemIncidents.ShellTree());
        doc["evidences"]![0]!["process"]!["lineage"] = new JsonArray("/usr/sbin/nginx");
        AssertRefused(doc, "evidences[0].process.lineage: deprecated");

        doc = Render(SiemIncidents.ShellTree());
        doc["observables"]![0]!["value"] = "bash";
        AssertRefused(doc, "is not the value at evidences[0].process.name");

        doc = Render(SiemIncidents.ShellTree());
        doc["observables"]![0]!["type_id"] = 2;
        doc["observables"]![0]!["type"] = "IP Address";
        AssertRefused(doc, "observables[0].type_id: 2, but evidences[0].process.name is observable type 9");

        doc = Render(SiemIncidents.ShellTree());
        var evidence = doc["evidences"]![1]!.AsObject();
        foreach (var key in evidence.Select(p => p.Key).Where(k => k is not ("uid" or "name")).ToList())
        {
            evidence.Remove(key);
        }

        AssertRefused(doc, "evidences[1]: evidences needs at least one of");
    }
}
