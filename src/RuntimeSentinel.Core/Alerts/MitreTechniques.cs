namespace RuntimeSentinel.Core.Alerts;

/// <summary>
/// The ATT&amp;CK techniques (Enterprise matrix, containers) an alert can carry: shared by the category catalogue (a
/// category's default technique) and <see cref="MitreMapping"/> (the finer, per-item rules), so one technique is one
/// object with one spelling.
/// </summary>
internal static class MitreTechniques
{
    public static readonly MitreTechnique CommandInterpreter = new("Execution", "T1059", "Command and Scripting Interpreter");
    public static readonly MitreTechnique UnixShell = new("Execution", "T1059.004", "Command and Scripting Interpreter: Unix Shell");
    public static readonly MitreTechnique ResourceHijacking = new("Impact", "T1496", "Resource Hijacking");
    public static readonly MitreTechnique ShadowFile = new("Credential Access", "T1003.008", "OS Credential Dumping: /etc/passwd and /etc/shadow");
    public static readonly MitreTechnique UnsecuredCredentials = new("Credential Access", "T1552.001", "Unsecured Credentials: Credentials In Files");
    public static readonly MitreTechnique ServiceAccountToken = new("Credential Access", "T1528", "Steal Application Access Token");
    public static readonly MitreTechnique AppLayerProtocol = new("Command and Control", "T1071", "Application Layer Protocol");
    public static readonly MitreTechnique NonStandardPort = new("Command and Control", "T1571", "Non-Standard Port");
    public static readonly MitreTechnique ExfilOverC2 = new("Exfiltration", "T1041", "Exfiltration Over C2 Channel");
    public static readonly MitreTechnique EscapeToHost = new("Privilege Escalation", "T1611", "Escape to Host");
    public static readonly MitreTechnique ProcessInjection = new("Defense Evasion", "T1055", "Process Injection");
    public static readonly MitreTechnique IngressToolTransfer = new("Command and Control", "T1105", "Ingress Tool Transfer");
    public static readonly MitreTechnique KernelModules = new("Persistence", "T1547.006", "Boot or Logon Autostart Execution: Kernel Modules and Extensions");
    public static readonly MitreTechnique PrivilegeEscalation = new("Privilege Escalation", "T1068", "Exploitation for Privilege Escalation");
    public static readonly MitreTechnique DiscoverySystem = new("Discovery", "T1082", "System Information Discovery");
    public static readonly MitreTechnique PasswordGuessing = new("Credential Access", "T1110.001", "Brute Force: Password Guessing");
    public static readonly MitreTechnique ContainerAdministration = new("Execution", "T1609", "Container Administration Command");
}
