# U-LiRA (evaluation.ulira, opt-in): shadow originals on halves of the training set, each unlearned
# with the method under test on its share of D_F and retrained without it; the attack and its table.


rule ulira_keep:
    input:
        data=DATA,
    output:
        keep=f"{ULIRA}/keep.npy",
    log:
        f"{RES}/logs/ulira/keep.log",
    conda:
        "../envs/amunflow.yaml"
    params:
        k=config["evaluation"]["ulira"]["shadows"],
        seed=config["evaluation"]["ulira"]["keep_seed"],
        points="train",
        code=code("rmia", "rmia_keep.py"),
    script:
        "../workflow/scripts/rmia_keep.py"


rule ulira_shadow_original:
    input:
        data=DATA,
        keep=f"{ULIRA}/keep.npy",
    output:
        multiext(
            shadow_path("original").removesuffix(".pt"),
            model=".pt",
            meta=".json",
            history=".history.csv",
        ),
    log:
        f"{RES}/logs/ulira/shadow{{shadow}}/original.log",
    cache: "omit-software"
    conda:
        "../envs/amunflow.yaml"
    threads: config["resources"]["threads"]
    resources:
        gpu=1,
        mem_mb=job_mem_mb,
        runtime=job_runtime,
    params:
        model=canon(config["model"]),
        train=train_params(shadow_train_config()),
        seed=lambda w: shadow_seed(w.shadow),
        keep_row=lambda w: int(w.shadow),
        device=config["device"],
        kind="original",
        code=code("train", "train.py"),
    script:
        "../workflow/scripts/train.py"


rule ulira_shadow_split:
    input:
        data=DATA,
        split=split_path(),
        keep=f"{ULIRA}/keep.npy",
    output:
        split=shadow_path("split.h5"),
    log:
        f"{RES}/logs/ulira/shadow{{shadow}}/{{forget}}/split{{split_seed}}/split.log",
    conda:
        "../envs/amunflow.yaml"
    params:
        shadow=lambda w: int(w.shadow),
        expect_split=lambda w: expect_split(w.forget, w.split_seed),
        code=code("shadows", "ulira_split.py"),
    script:
        "../workflow/scripts/ulira_split.py"


rule ulira_shadow_retrain:
    input:
        data=DATA,
        split=shadow_path("split.h5"),
    output:
        multiext(
            shadow_path("{again}.pt").removesuffix(".pt"),
            model=".pt",
            meta=".json",
            history=".history.csv",
        ),
    log:
        f"{RES}/logs/ulira/shadow{{shadow}}/{{forget}}/split{{split_seed}}/{{again}}.log",
    cache: "omit-software"
    conda:
        "../envs/amunflow.yaml"
    threads: config["resources"]["threads"]
    resources:
        gpu=1,
        mem_mb=job_mem_mb,
        runtime=job_runtime,
    params:
        model=canon(config["model"]),
        train=train_params(shadow_train_config()),
        seed=lambda w: shadow_seed(w.shadow, again=w.again == "retrain_again"),
        device=config["device"],
        kind="retrain",
        expect_split=expect_shadow_split,
        code=code("train", "train.py"),
    script:
        "../workflow/scripts/train.py"


rule ulira_shadow_adversarial:
    input:
        model=shadow_path("original"),
        data=DATA,
        split=shadow_path("split.h5"),
    output:
        adv=shadow_path("adv.h5"),
    log:
        f"{RES}/logs/ulira/shadow{{shadow}}/{{forget}}/split{{split_seed}}/adv.log",
    conda:
        "../envs/amunflow.yaml"
    threads: config["attack"]["threads"]
    resources:
        gpu=1,
        mem_mb=job_mem_mb,
        runtime=job_runtime,
    params:
        attack=attack_params(),
        device=config["device"],
        expect_split=expect_shadow_split,
        expect_model=expect_shadow_original,
        code=code("adversarial", "build_adversarial.py"),
    script:
        "../workflow/scripts/build_adversarial.py"


rule ulira_shadow_mask:
    input:
        model=shadow_path("original"),
        data=DATA,
        split=shadow_path("split.h5"),
    output:
        multiext(shadow_path("mask.pt").removesuffix(".pt"), mask=".pt", meta=".json"),
    log:
        f"{RES}/logs/ulira/shadow{{shadow}}/{{forget}}/split{{split_seed}}/mask.log",
    conda:
        "../envs/amunflow.yaml"
    threads: config["unlearn"]["threads"]
    resources:
        gpu=1,
        mem_mb=job_mem_mb,
        runtime=job_runtime,
    params:
        device=config["device"],
        expect_split=expect_shadow_split,
        expect_model=expect_shadow_original,
        code=code("mask", "saliency_mask.py"),
    script:
        "../workflow/scripts/saliency_mask.py"


rule ulira_shadow_unlearn:
    input:
        unpack(shadow_unlearn_inputs),
    output:
        multiext(
            shadow_path("unlearn/{instance}/{setting}.pt").removesuffix(".pt"),
            model=".pt",
            meta=".json",
        ),
    log:
        f"{RES}/logs/ulira/shadow{{shadow}}/{{forget}}/split{{split_seed}}/{{instance}}/{{setting}}.log",
    conda:
        "../envs/amunflow.yaml"
    threads: config["unlearn"]["threads"]
    resources:
        gpu=1,
        mem_mb=job_mem_mb,
        runtime=job_runtime,
    params:
        instance=lambda w: w.instance,
        setting=lambda w: w.setting,
        method=lambda w: method_of(w.instance, w.setting),
        hyper=lambda w: hyper_for(w.instance, w.setting, w.forget),
        seed=lambda w: run_seed(shadow_seed(w.shadow), w.split_seed, 0),
        device=config["device"],
        expect_split=expect_shadow_split,
        expect_model=expect_shadow_original,
        code=lambda w: method_code(w.instance, w.setting),
    script:
        "../workflow/scripts/unlearn.py"


rule ulira_attack:
    input:
        unpack(ulira_inputs),
    output:
        metrics=ulira_path(),
    log:
        f"{RES}/logs/ulira/attack/{{instance}}/{{setting}}/{{forget}}/split{{split_seed}}.log",
    conda:
        "../envs/amunflow.yaml"
    threads: config["unlearn"]["threads"]
    resources:
        gpu=1,
        mem_mb=job_mem_mb,
        runtime=job_runtime,
    params:
        ident=lambda w: {
            "method": w.instance,
            "base_method": ulira_base(w),
            "setting": w.setting,
            "forget": w.forget,
            "split_seed": int(w.split_seed),
        },
        fix_variance=config["evaluation"]["ulira"]["fix_variance"],
        device=config["device"],
        expect_split=lambda w: expect_split(w.forget, w.split_seed),
        expect_unlearned=ulira_expect_unlearned,
        unlearned_on_split=lambda w: w.instance != "original",
        expect_targets=ulira_expect_targets,
        expect_retrains=ulira_expect_retrains,
        targets_on_split=lambda w: w.instance != "original",
        code=code("ulira", "ulira.py"),
    script:
        "../workflow/scripts/ulira.py"


rule ulira_table:
    input:
        metrics=[ulira_path(*u) for u in EXP.ulira_units()],
    output:
        table=f"{RES}/tables/ulira.csv",
        md=f"{RES}/tables/ulira.md",
        html=report(
            f"{RES}/tables/ulira.html",
            caption="../workflow/report/ulira.rst",
            category="3 Tables",
        ),
    log:
        f"{RES}/logs/tables/ulira.log",
    conda:
        "../envs/amunflow.yaml"
    params:
        code=code("ulira", "ulira_table.py"),
    script:
        "../workflow/scripts/ulira_table.py"
