# One page per deletion request (a `list` forget set): results/requests/<forget set>.{md,html}.


rule request_report:
    input:
        unpack(request_inputs),
    output:
        md=f"{RES}/requests/{{forget}}.md",
        html=report(
            f"{RES}/requests/{{forget}}.html",
            caption="../workflow/report/request.rst",
            category="4 Deletion requests",
        ),
    log:
        f"{RES}/logs/requests/{{forget}}.log",
    conda:
        "../envs/amunflow.yaml"
    params:
        spec=lambda w: list_spec(w.forget),
        others=lambda w: [f for f in EXP.forget_sets if f != w.forget],
        expect_split=lambda w: expect_split(w.forget, 0),
        code=code("requests", "request_report.py"),
    script:
        "../workflow/scripts/request_report.py"
