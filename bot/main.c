/* main.c — promobot entry point (placeholder until the CLI lands). */
int main(void)
{
	return 0;
}
