# AMUN unlearning workflow: see README.md. Run from the repository root:
#   snakemake --profile profiles/default                       (default experiment)
#   snakemake --profile profiles/default --configfile config/paper.yaml


from snakemake.utils import min_version

min_version("9.19")


if not config:

    configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/train.smk"


rule all:
    input:
        all_targets(),
    default_target: True
