from partage.context import Context


class _Counters:
    async def start(self, ctx: Context) -> None:
        pass

    async def stop(self) -> None:
        pass


counters = _Counters()
