"""A toy unlearning method for tests/test_structure.py: plain fine-tuning on D_F with flipped labels,
registered from outside the package to show that a method is one module and one registry line."""

from amunflow.unlearn import Part, fit


def run(r):
    forget = r.data.forget()
    shifted = Part("forget", forget.x, (forget.y + r.hp.extra["shift"]) % r.data.num_classes)
    return fit(r, lambda epoch: [shifted])


def cost(setting, hp, n_forget, n_retain):
    return hp["epochs"] * n_forget
