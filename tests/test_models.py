import pytest
import torch

from amunflow.models import VGG19BN, BasicBlock, ResNet18, build_model, count_parameters, fold_batchnorm


def test_resnet18_width64_matches_paper_parameter_count():
    m = build_model({"arch": "resnet18", "width": 64}, num_classes=10)
    assert count_parameters(m) == 11_173_962
    # the standard block has the same parameters (the /2 is parameter-free)
    assert count_parameters(build_model({"arch": "resnet18", "width": 64, "block": "standard"}, 10)) == 11_173_962


def test_resnet18_structure_and_shapes():
    m = build_model({"arch": "resnet18", "width": 16}, num_classes=10).eval()
    assert m.conv1.kernel_size == (3, 3) and m.conv1.stride == (1, 1)
    assert not any(isinstance(x, torch.nn.MaxPool2d) for x in m.modules())
    halved = [name for name, b in m.named_modules() if isinstance(b, BasicBlock) and b.halve]
    assert halved == ["layer2.0", "layer3.0", "layer4.0"]
    assert m(torch.rand(3, 3, 32, 32)).shape == (3, 10)
    assert build_model({"arch": "resnet18", "width": 8}, 100)(torch.rand(2, 3, 64, 64)).shape == (2, 100)


def test_projection_block_divides_residual_sum_by_two():
    torch.manual_seed(0)
    blk = BasicBlock(4, 8, 2, halve_projection=True).eval()
    x = torch.randn(2, 4, 8, 8)
    body = blk.bn2(blk.conv2(torch.relu(blk.bn1(blk.conv1(x)))))
    expected = torch.relu((body + blk.shortcut(x)) / 2)
    torch.testing.assert_close(blk(x), expected)
    blk.halve = False
    torch.testing.assert_close(blk(x), torch.relu(body + blk.shortcut(x)))
    assert not BasicBlock(4, 4, 1, halve_projection=True).halve  # identity shortcut: no /2


def test_vgg19_bn_shapes_and_count():
    m = build_model({"arch": "vgg19_bn", "width": 64}, num_classes=10, image_size=32)
    # 16 conv3x3 layers with BN + Linear(512, 10): the standard CIFAR VGG-19-BN count
    assert count_parameters(m) == 20_040_522
    assert sum(isinstance(x, torch.nn.Conv2d) for x in m.modules()) == 16
    tiny = VGG19BN(num_classes=200, width=8, image_size=64).eval()
    assert tiny.classifier.in_features == 4 * 64  # 4 * 512 at width 64, 4 * 64 at width 8
    assert tiny(torch.rand(2, 3, 64, 64)).shape == (2, 200)


def test_width_scales_channels():
    m = ResNet18(10, width=16)
    assert m.linear.in_features == 128


@pytest.mark.parametrize("arch", ["resnet18", "vgg19_bn"])
def test_fold_batchnorm_same_function_and_input_gradient(arch):
    torch.manual_seed(0)
    m = build_model({"arch": arch, "width": 4}, 10).double()
    for mod in m.modules():  # non-trivial affine parameters and running statistics
        if isinstance(mod, torch.nn.BatchNorm2d):
            torch.nn.init.uniform_(mod.weight, 0.5, 1.5)
            torch.nn.init.uniform_(mod.bias, -0.2, 0.2)
    with torch.no_grad():
        for _ in range(3):
            m(torch.rand(16, 3, 32, 32, dtype=torch.float64) * 2)
    m.eval()
    folded = fold_batchnorm(m)
    assert not any(isinstance(mod, torch.nn.BatchNorm2d) for mod in folded.modules())
    assert any(isinstance(mod, torch.nn.BatchNorm2d) for mod in m.modules()), "the original must stay intact"
    x = torch.rand(5, 3, 32, 32, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 1, 2, 3, 4])
    outs = []
    for net in (m, folded):
        out = net(x)
        (g,) = torch.autograd.grad(torch.nn.functional.cross_entropy(out, y, reduction="sum"), x)
        outs.append((out.detach(), g))
    torch.testing.assert_close(outs[1][0], outs[0][0], rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(outs[1][1], outs[0][1], rtol=1e-9, atol=1e-10)
