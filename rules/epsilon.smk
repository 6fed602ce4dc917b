# The distribution-level audits (evaluation.epsilon, opt-in): the unlearning challenge's per-example
# epsilon and F, and KLOM, of each method's N unlearning runs against N retrains (both the unlearn and
# retrain stages' own cached jobs), with the calibration rows original and retrain.


rule epsilon_scores:
    input:
        data=DATA,
        split=split_path(),
        models=lambda w: epsilon_models(w)[0],
    output:
        scores=epsilon_scores_path(),
    log:
        f"{RES}/logs/epsilon/scores/{{instance}}/{{setting}}/{{forget}}/split{{split_seed}}.log",
    conda:
        "../envs/amunflow.yaml"
    threads: config["unlearn"]["threads"]
    resources:
        gpu=1,
        mem_mb=job_mem_mb,
        runtime=job_runtime,
    params:
        expect=lambda w: epsilon_models(w)[1],
        on_split=lambda w: epsilon_models(w)[2],
        n_models=config["evaluation"]["epsilon"]["n_models"],
        device=config["device"],
        expect_split=lambda w: expect_split(w.forget, w.split_seed),
        code=code("epsilon", "epsilon_scores.py"),
    script:
        "../workflow/scripts/epsilon_scores.py"


rule epsilon_audit:
    input:
        data=DATA,
        split=split_path(),
        row=lambda w: epsilon_scores_of(w.instance, w.setting, w.forget, w.split_seed),
        reference=epsilon_scores_path("retrain", "reference"),
    output:
        audit=epsilon_path(),
        examples=epsilon_path(ext=".examples.csv"),
    log:
        f"{RES}/logs/epsilon/audit/{{instance}}/{{setting}}/{{forget}}/split{{split_seed}}.log",
    conda:
        "../envs/amunflow.yaml"
    params:
        ident=lambda w: {
            "method": w.instance,
            "base_method": ulira_base(w),
            "setting": w.setting,
            "forget": w.forget,
            "split_seed": int(w.split_seed),
        },
        n_models=config["evaluation"]["epsilon"]["n_models"],
        include_max=config["evaluation"]["epsilon"]["klom_include_max"],
        expect_split=lambda w: expect_split(w.forget, w.split_seed),
        code=code("epsilon", "epsilon_audit.py"),
    script:
        "../workflow/scripts/epsilon_audit.py"


rule epsilon_table:
    input:
        **epsilon_table_inputs(),
    output:
        epsilon=f"{RES}/tables/epsilon.csv",
        epsilon_md=f"{RES}/tables/epsilon.md",
        epsilon_html=report(
            f"{RES}/tables/epsilon.html",
            caption="../workflow/report/epsilon.rst",
            category="3 Tables",
        ),
        klom=f"{RES}/tables/klom.csv",
        klom_md=f"{RES}/tables/klom.md",
        klom_html=report(
            f"{RES}/tables/klom.html",
            caption="../workflow/report/klom.rst",
            category="3 Tables",
        ),
        plot=report(
            f"{RES}/plots/epsilon.png",
            caption="../workflow/report/epsilon_hist.rst",
            category="4 Plots",
        ),
    log:
        f"{RES}/logs/tables/epsilon.log",
    conda:
        "../envs/amunflow.yaml"
    params:
        code=code("epsilon", "epsilon_table.py"),
    script:
        "../workflow/scripts/epsilon_table.py"
