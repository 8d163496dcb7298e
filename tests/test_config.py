import dataclasses
import json

import pytest

from kerasgan import config as config_lib
from kerasgan.errors import ConfigError


def test_defaults_are_the_reference_recipe():
    config = config_lib.TrainConfig()
    assert ((config.image_size, config.batch_size, config.latent_dim, config.epochs)
            == (128, 128, 100, 105))
    assert (config.g_lr, config.d_lr, config.loss) == (1e-4, 1e-4, "nonsaturating")


def test_seed128_preset_equals_defaults_apart_from_its_name():
    preset = config_lib.make_config("seed128")
    assert preset.replace(preset="") == config_lib.TrainConfig()


def test_dcgan64_preset():
    config = config_lib.make_config("dcgan64")
    assert (config.image_size, config.arch, config.latent_dim) == (64, "dcgan", 128)
    assert (config.g_lr, config.beta1, config.epochs) == (2e-4, 0.5, 20)


def test_explicit_values_override_the_preset():
    config = config_lib.make_config("dcgan64", epochs=3, image_size=32)
    assert (config.epochs, config.image_size, config.arch) == (3, 32, "dcgan")


def test_json_round_trip():
    config = config_lib.make_config("keras32", seed=7, flip=True)
    assert config_lib.TrainConfig.from_json(config.to_json()) == config


def test_unknown_json_field_is_refused():
    values = dict(config_lib.TrainConfig().to_dict(), imgae_size=64)
    with pytest.raises(ConfigError, match="imgae_size"):
        config_lib.TrainConfig.from_json(json.dumps(values))


@pytest.mark.parametrize("field,value,message", [
    ("image_size", 100, r"--image_size=100 is not allowed: use one of 16, 32, 64, 128, 256"),
    ("loss", "foo", r"--loss=foo is not allowed: use one of nonsaturating, lsgan, wgan-gp, hinge"),
    ("epochs", 0, r"--epochs=0 is not allowed: it must be greater than 0"),
    ("batch_size", -1, r"--batch_size=-1 is not allowed: it must be greater than 0"),
    ("beta1", 1.0, r"--beta1=1.0 is not allowed: use a value in \[0, 1\)"),
    ("dataset", "mnist", r"--dataset=mnist is not allowed"),
    ("preset", "big",
     r"--preset=big is not allowed: use one of quick32, quick64, seed128, dcgan64, keras32"),
    ("d_norm", "batch", r"--d_norm=batch is not allowed: use one of none, spectral"),
    ("channels", 4, r"--channels=4 is not allowed: use 0 \(the reference widths\) or at least 8"),
    ("r1_gamma", -1.0, r"--r1_gamma=-1.0 is not allowed: it must be at least 0"),
    ("r1_interval", 0, r"--r1_interval=0 is not allowed: it must be greater than 0"),
    ("g_ema_kimg", 0.0, r"--g_ema_kimg=0.0 is not allowed: it must be greater than 0"),
    ("label_scale", 0.0, r"--label_scale=0.0 is not allowed: it must be greater than 0"),
    ("epoch_work_share", 0.0, r"--epoch_work_share=0.0 is not allowed: use a value in \(0, 1\]"),
])
def test_bad_values_name_the_flag_and_what_is_allowed(field, value, message):
    with pytest.raises(ConfigError, match=message):
        config_lib.make_config(**{field: value})


def test_identity_diff_lists_the_fields_that_change_the_model():
    old = config_lib.TrainConfig()
    new = old.replace(image_size=64, arch="dcgan", epochs=3)
    assert old.identity_diff(new) == {"image_size": (128, 64), "arch": ("seed", "dcgan")}


def test_every_field_has_help_text():
    assert all(f.metadata.get("help") for f in dataclasses.fields(config_lib.TrainConfig))


def test_quick32_is_a_small_synthetic_recipe_with_an_averaged_g():
    config = config_lib.make_config("quick32")
    assert (config.image_size, config.arch, config.dataset) == (32, "dcgan", "synthetic")
    assert config.channels > 0 and config.g_ema
    # Its rates fall over the second half; quick64 and the folder recipes keep theirs as measured.
    assert (config.lr_decay, config.lr_decay_start) == ("linear", 0.5)
    for name in ("quick64", "folder32", "folder64"):
        assert config_lib.make_config(name).lr_decay == "none", name
    # quick64 keeps D in check with R1 instead, and its G upsamples by resize-convolutions
    # (experiments/time_to_faces).
    quick64 = config_lib.make_config("quick64")
    assert (quick64.r1_gamma, quick64.arch, quick64.channels) == (0.1, "dcgan_resize", 128)


def test_seed128_keeps_the_reference_networks_and_optimiser_with_stabilisers_off():
    config = config_lib.make_config("seed128")
    assert (config.channels, config.d_norm, config.r1_gamma, config.augment) == (0, "none", 0.0, "")
    assert (config.g_lr, config.d_lr, config.beta1, config.loss) == (1e-4, 1e-4, 0.9,
                                                                      "nonsaturating")


def test_a_config_json_from_before_a_field_existed_reads_as_the_run_it_was():
    values = config_lib.TrainConfig().to_dict()
    for name in config_lib.LEGACY_VALUES:
        del values[name]
    old = config_lib.TrainConfig.from_json(json.dumps(values))
    assert old.g_ema is False and old.epoch_work_share == 1.0
    assert old.conditional_attributes == ""  # runs from before conditioning were unconditional
    assert old.label_scale == 0.1  # conditional runs before the flag scaled labels by 0.1
    assert config_lib.TrainConfig().g_ema is True  # new runs average G


def test_augment_lists_are_parsed_in_canonical_order():
    assert config_lib.parse_augment("cutout, color") == ("color", "cutout")
    assert config_lib.parse_augment("") == ()
    assert config_lib.parse_augment_p("auto") is None and config_lib.parse_augment_p("0.3") == 0.3


def test_the_comma_fields_are_read_as_values():
    config = config_lib.make_config(augment="cutout, color", augment_p="0.3",
                                    eval_metrics="kid,swd,kid",
                                    conditional_attributes=" Smiling , Bangs")
    assert config.augment_ops == ("color", "cutout") and config.fixed_augment_p == 0.3
    assert config.eval_metric_names == ("kid", "swd")
    assert config.attribute_names == ("Smiling", "Bangs")
    plain = config_lib.TrainConfig()
    assert (plain.augment_ops, plain.fixed_augment_p, plain.attribute_names) == ((), None, ())


def test_checkpoint_intervals_may_be_off_but_not_negative():
    config = config_lib.make_config(checkpoint_every_steps=0, checkpoint_every_minutes=0,
                                    steps_per_call=4, log_every=8)
    assert (config.checkpoint_every_steps, config.checkpoint_every_minutes) == (0, 0)
    with pytest.raises(ConfigError, match="--checkpoint_every_minutes=-1.0 is not allowed"):
        config_lib.make_config(checkpoint_every_minutes=-1.0)
    with pytest.raises(ConfigError, match="--steps_per_call=4 is not allowed: it must divide "
                                          "--checkpoint_every_steps=6"):
        config_lib.make_config(steps_per_call=4, log_every=8, checkpoint_every_steps=6)


def test_a_config_json_from_before_checkpoint_every_minutes_still_loads():
    values = config_lib.TrainConfig().to_dict()
    del values["checkpoint_every_minutes"]
    assert config_lib.TrainConfig.from_json(json.dumps(values)).checkpoint_every_minutes == 10.0


# CelebA's 40 attribute names, as list_attr_celeba.txt's header spells them.
CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose "
    "Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee "
    "Gray_Hair Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes "
    "No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling "
    "Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace "
    "Wearing_Necktie Young").split()


def test_attribute_names_are_parsed_in_the_order_given():
    assert config_lib.parse_attribute_names("Smiling,Eyeglasses") == ("Smiling", "Eyeglasses")
    assert config_lib.parse_attribute_names(" Male , Smiling ") == ("Male", "Smiling")
    assert config_lib.parse_attribute_names("") == config_lib.parse_attribute_names(" ") == ()
    assert config_lib.parse_attribute_names(",".join(CELEBA_ATTRIBUTES)) == tuple(CELEBA_ATTRIBUTES)


@pytest.mark.parametrize("text,problem", [
    ("Smiling,,Male", "a name is empty (two commas in a row, or one at an end)"),
    ("Smiling,", "a name is empty"),
    ("Smiling,Male,Smiling", "Smiling named more than once"),
    ("Smiling;Male", "'Smiling;Male' is not an attribute name (letters, digits and underscores"),
    ("Blond Hair", "'Blond Hair' is not an attribute name"),
    ("_Smiling", "'_Smiling' is not an attribute name"),
])
def test_bad_attribute_lists_are_refused_in_one_line(text, problem):
    with pytest.raises(ConfigError) as error:
        config_lib.make_config(conditional_attributes=text)
    message = str(error.value)
    assert message.startswith(f"--conditional_attributes={text} is not allowed: {problem}")
    assert message.endswith("use comma-separated names, e.g. Smiling,Eyeglasses")
    assert "\n" not in message


def test_conditional_attributes_are_stored_in_one_spelling_and_decide_the_model():
    config = config_lib.make_config(conditional_attributes=" Smiling , Male")
    assert config.conditional_attributes == "Smiling,Male"
    assert config_lib.TrainConfig.from_json(config.to_json()) == config
    assert "conditional_attributes" in config_lib.IDENTITY_FIELDS
    assert config.identity_diff(config.replace(conditional_attributes="Male,Smiling")) == {
        "conditional_attributes": ("Smiling,Male", "Male,Smiling")}
    assert config.identity_diff(config.replace(conditional_attributes="Smiling, Male")) == {}
    assert config_lib.TrainConfig().conditional_attributes == ""
