"""A toy unlearning method: plain fine-tuning on D_F with flipped labels, registered from outside the
package (tests/test_structure.py: a method is one module and one registry line; tests/test_workflow.py
installs it as a plugin package's module, found through the amunflow.methods entry point)."""

from amunflow.unlearn import Part, fit


def run(r):
    forget = r.data.forget()
    shifted = Part("forget", forget.x, (forget.y + r.hp.extra["shift"]) % r.data.num_classes)
    return fit(r, lambda epoch: [shifted])


def cost(setting, hp, n_forget, n_retain):
    return hp["epochs"] * n_forget
