/// The controlled vocabulary of contract §3. Anything outside it is `unknown-vocabulary`.
///
/// The contract may grow ("more may be added"); growing it means adding words here, and rule
/// packs are checked against these lists so that a misspelt word in a rule is caught at compile time.
public enum Vocabulary {
    public static let eventTypes: [String] = [
        "demographics", "diagnosis", "staging", "performance-status", "lab", "condition", "medication",
        "allergy", "metastasis", "treatment", "response", "progression", "tumor-board", "assessment",
        "preference", "retraction",
    ]
    public static let sex = ["male", "female", "other", "unknown"]
    public static let cancers = [
        "pleural-mesothelioma", "peritoneal-mesothelioma", "renal-cell-carcinoma", "neuroendocrine-neoplasm",
        "gastric-adenocarcinoma", "gej-adenocarcinoma",
    ]
    public static let histologies = ["epithelioid", "sarcomatoid", "biphasic", "desmoplastic", "nos"]
    public static let neTypes = ["nec", "net-g3", "minen"]
    public static let primarySites = [
        "pancreas", "small-intestine", "colorectum", "stomach", "lung", "oesophagus", "appendix", "liver",
        "gallbladder", "kidney", "pleura", "peritoneum", "other", "unknown",
    ]
    public static let editions = ["ajcc8", "tnm9"]
    public static let stagingMethods = ["clinical", "pathological"]
    public static let tCategories = ["T0", "T1", "T2", "T3", "T4", "TX"]
    public static let nCategories = ["N0", "N1", "N2", "NX"]
    public static let mCategories = ["M0", "M1"]
    public static let stageGroups = [
        "0", "I", "IA", "IB", "II", "IIA", "IIB", "III", "IIIA", "IIIB", "IIIC", "IV", "IVA", "IVB",
    ]
    public static let performanceScales = ["ecog", "who", "karnofsky"]
    public static let labTests = [
        "wbc", "anc", "platelets", "hemoglobin", "bilirubin-total", "alt", "ast", "creatinine",
        "creatinine-clearance", "ldh",
    ]
    public static let conditions = [
        "autoimmune-disease", "organ-transplant", "allogeneic-hsct", "interstitial-lung-disease", "hiv",
        "hepatitis-b", "hepatitis-c", "active-infection", "serious-cardiac-disease", "other-active-malignancy",
        "splenectomy", "pregnancy", "breastfeeding", "end-stage-renal-disease", "bleeding-risk",
        "arterial-thromboembolism", "uncontrolled-hypertension", "compliance-barrier",
    ]
    public static let conditionStatuses = ["present", "absent", "resolved"]
    public static let medicationClasses = [
        "anticoagulant", "antiplatelet", "nsaid", "systemic-corticosteroid", "immunosuppressant",
    ]
    public static let medicationStatuses = ["active", "stopped", "absent"]
    /// Drug ids shared by `allergy.substance` and `treatment.agents`.
    public static let drugs = [
        "platinum", "pemetrexed", "nivolumab", "ipilimumab", "pembrolizumab", "bevacizumab", "gemcitabine",
        "carboplatin", "cisplatin", "durvalumab", "atezolizumab", "ramucirumab", "vinorelbine", "etoposide",
        "oxaliplatin", "irinotecan-liposomal", "fluorouracil", "capecitabine", "temozolomide", "everolimus",
        "sunitinib", "cabozantinib", "axitinib", "lenvatinib", "tislelizumab", "s-1", "trastuzumab",
        "doxorubicin", "mitomycin", "paclitaxel", "leucovorin",
    ]
    public static let presence = ["present", "absent"]
    public static let metastasisSites = [
        "liver", "brain", "peritoneum", "bone", "lung", "contralateral-pleura", "distant-lymph-nodes", "other",
    ]
    public static let treatmentKinds = ["systemic", "surgery", "radiotherapy"]
    public static let treatmentSettings = [
        "neoadjuvant", "first-line", "second-line", "later-line", "maintenance", "adjuvant",
    ]
    public static let procedures = [
        "diagnostic-thoracoscopy", "extrapleural-pneumonectomy", "pleurectomy-decortication",
        "cytoreductive-surgery-hipec", "cytoreductive-nephrectomy", "nephrectomy", "other",
    ]
    public static let radiotherapySites = ["thoracic", "other"]
    public static let treatmentStatuses = ["started", "completed", "stopped"]
    public static let responseCriteria = ["recist-1.1", "mrecist"]
    public static let responseCategories = ["CR", "PR", "SD", "PD"]
    public static let resectability = ["resectable", "potentially-resectable", "unresectable"]
    public static let declinable = ["surgery", "chemotherapy", "immunotherapy", "nephrectomy", "trial-participation"]
    public static let preferenceStatuses = ["present", "withdrawn"]

    /// Lab units accepted per test, each with the factor to the canonical unit (the first listed).
    public static let labUnits: [String: [(unit: String, factor: Double)]] = {
        let count: [(String, Double)] = [("10^9/L", 1), ("10^3/uL", 1), ("10^3/µL", 1), ("G/L", 1)]
        let enzyme: [(String, Double)] = [("U/L", 1), ("IU/L", 1)]
        // Conversion factors: hemoglobin 1 g/dL = 10 g/L = 0.6206 mmol/L (Hb monomer); creatinine
        // 1 mg/dL = 88.42 µmol/L; bilirubin 1 mg/dL = 17.104 µmol/L (standard SI conversion tables).
        let creatinine: [(String, Double)] = [
            ("mg/dL", 1), ("umol/L", 1 / 88.42), ("µmol/L", 1 / 88.42), ("μmol/L", 1 / 88.42),
        ]
        let bilirubin: [(String, Double)] = [
            ("mg/dL", 1), ("umol/L", 1 / 17.104), ("µmol/L", 1 / 17.104), ("μmol/L", 1 / 17.104),
        ]
        return [
            "wbc": count, "anc": count, "platelets": count,
            "hemoglobin": [("g/dL", 1), ("g/L", 0.1), ("mmol/L", 1 / 0.6206)],
            "bilirubin-total": bilirubin, "creatinine": creatinine,
            "alt": enzyme, "ast": enzyme, "ldh": enzyme,
            "creatinine-clearance": [("mL/min", 1)],
        ].mapValues { $0.map { (unit: $0.0, factor: $0.1) } }
    }()

    /// Values above these are physically impossible in the canonical unit, and are refused.
    public static let labCeilings: [String: Double] = [
        "hemoglobin": 30, "platelets": 10_000, "wbc": 1_000, "anc": 1_000,
    ]
}
