from partage.context import Context


def expire_abandoned(ctx: Context) -> int:
    return 0
