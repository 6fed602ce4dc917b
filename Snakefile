# AMUN unlearning workflow: see README.md. Run from the repository root:
#   snakemake --cores 2                                  (default experiment, config/config.yaml)
#   snakemake --cores all --configfile config/paper.yaml (the paper protocol)


from snakemake.utils import min_version

min_version("9.19")


if not config:

    configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/paths.smk"
# each stage's input functions and targets (Snakemake's lint keeps functions out of rule files)
include: "rules/inputs/data.smk"
include: "rules/inputs/train.smk"
include: "rules/inputs/adversarial.smk"
include: "rules/inputs/unlearn.smk"
include: "rules/inputs/tuning.smk"
include: "rules/inputs/sequential.smk"
include: "rules/inputs/evaluate.smk"
include: "rules/inputs/report.smk"
include: "rules/inputs/ulira.smk"
include: "rules/inputs/epsilon.smk"
include: "rules/inputs/requests.smk"


onstart:
    check_device()


# light bookkeeping rules run on the submitting host, not as cluster jobs
localrules:
    all,
    health,
    compare_paper,
    make_split,
    select_hyperparameters,
    tuning_report,
    sequential_split,
    sequential_summary,
    rmia_keep,
    summarize_adversarial,
    aggregate,
    plots,
    ulira_keep,
    ulira_shadow_split,
    ulira_table,
    epsilon_audit,
    epsilon_table,
    difficulty,
    request_report,


include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/adversarial.smk"
include: "rules/unlearn.smk"
include: "rules/tuning.smk"
include: "rules/sequential.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"
include: "rules/ulira.smk"
include: "rules/epsilon.smk"
include: "rules/requests.smk"


rule all:
    default_target: True
    input:
        data_targets(),
        train_targets(),
        adversarial_targets(),
        unlearn_targets(),
        all_metric_paths(),
        report_targets(),
        sequential_targets(),
        tuning_targets(),
        ulira_targets_all(),
        epsilon_targets(),
        request_targets(),


check_report_ready(rules.all.input)
